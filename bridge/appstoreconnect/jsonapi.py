"""The JSON:API shapes of App Store Connect's documents (https://jsonapi.org): a resource's
``attributes``, and the path of a resource from its type and id.

:func:`resource_path` is how every request path is built: a type or id that could not be an
App Store Connect one (say, from a webhook payload) raises AscRequestError before anything is
requested, so no payload can steer the client to another path.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from bridge.appstoreconnect.errors import AscRequestError

_TYPE = re.compile(r"^[a-zA-Z]{1,80}\Z")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")  # \Z, not $ (it matches before "\n")


def attributes(resource: object) -> dict[str, Any]:
    """A JSON:API resource object's ``attributes`` (empty when there are none)."""
    if isinstance(resource, dict) and isinstance(resource.get("attributes"), dict):
        return dict(resource["attributes"])
    return {}


def resource_path(type_: str, id_: str, relationship: str | None = None) -> str:
    """``/v1/{type}/{id}[/{relationship}]`` from an event's instance. Raises AscRequestError
    for a type or id that could not be an App Store Connect one (nothing is requested)."""
    if not _TYPE.match(type_):
        raise AscRequestError(f"not an App Store Connect resource type: {type_!r}")
    if relationship is not None and not _TYPE.match(relationship):
        raise AscRequestError(f"not an App Store Connect relationship: {relationship!r}")
    if not _ID.match(id_):
        raise AscRequestError(f"not an App Store Connect resource id: {id_!r}")
    path = f"/v1/{type_}/{quote(id_, safe='')}"
    return f"{path}/{relationship}" if relationship else path
