"""routes.yaml for commands that verify no signature (``bridge check``, ``bridge simulate``):
the sources' credentials (``secret: ${ASC_WEBHOOK_SECRET}``) may be unset there. Those
commands say which variables the server will need instead of refusing to run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from bridge.providers import PROVIDERS
from bridge.routing.document import Report, parse_yaml
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesConfig

_NAME = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
# A stand-in for an unset credential: never compared with anything (nothing is verified).
UNSET = "unset-credential"


def credential_variables(path: str | os.PathLike[str]) -> list[str]:
    """The ``${VAR}`` names (without a default) in the sources' credential keys, in file
    order; empty when the file cannot be read or parsed (loading then reports why)."""
    try:
        with open(path, encoding="utf-8") as stream:
            data, ok = parse_yaml(stream.read(), Report(os.fspath(path)))
    except (OSError, UnicodeDecodeError):
        return []
    keys = {key for provider in PROVIDERS.values() for key in provider.CREDENTIAL_KEYS}
    sources = data.get("sources") if ok and isinstance(data, dict) else None
    names: list[str] = []
    for source in sources.values() if isinstance(sources, dict) else ():
        for key, value in source.items() if isinstance(source, dict) else ():
            if key in keys:
                names += [m.group(1) for m in _NAME.finditer(_text(value)) if not m.group(2)]
    return list(dict.fromkeys(names))


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(item for item in value if isinstance(item, str))
    return value if isinstance(value, str) else ""


def load_without_credentials(
    path: str | os.PathLike[str], environ: Mapping[str, str]
) -> tuple[RoutesConfig, list[str]]:
    """Load routes.yaml as :func:`load_routes` does, with the sources' unset credential
    variables standing in; returns the routes and those variables' names (the server will
    need them). Raises RoutesError for every other problem."""
    missing = [name for name in credential_variables(path) if not environ.get(name)]
    stand_ins = {name: UNSET for name in missing}
    return load_routes(path, {**environ, **stand_ins}), missing
