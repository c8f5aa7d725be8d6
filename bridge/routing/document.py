"""routes.yaml as a document: YAML with line numbers and ``${VAR}`` interpolation.

:mod:`bridge.routing.schema` validates it against ``routes.schema.json`` and
:mod:`bridge.routing.load` builds typed objects on top; this module only says *where* a
document is wrong. Everything here collects problems in a :class:`Report` instead of
raising, so that one load names every problem at once.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

Path = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAX_NODES = 100_000


def format_path(path: Path) -> str:
    """``routes[0].dispatch.event_type``; keys that are not plain words are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def suggest(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class Report:
    """Problems and warnings about one file, each ``file:line: path: message``."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Path, int] = {}  # 1-based line of each key / list item
        self.number_texts: dict[Path, str] = {}  # source text of plain numeric scalars
        self.interpolated: dict[Path, tuple[str, ...]] = {}  # variables used per value
        # Variables whose ${VAR:-default} default was used (VAR unset or empty), per value.
        self.defaulted: dict[Path, tuple[str, ...]] = {}
        self.failed: set[Path] = set()  # values whose interpolation already failed
        self._problems: list[tuple[int, str]] = []
        self._warnings: list[tuple[int, str]] = []

    @property
    def problems(self) -> list[str]:
        return _ordered(self._problems)

    @property
    def warnings(self) -> list[str]:
        return _ordered(self._warnings)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def format(self, path: Path, message: str, line: int | None = None) -> tuple[int, str]:
        line = self.line(path) if line is None else line
        where = f"{self.file}:{line}" if line is not None else self.file
        text = f"{where}: {format_path(path)}: {message}" if path else f"{where}: {message}"
        return (line or 0, text)

    def problem(self, path: Path, message: str, line: int | None = None) -> None:
        if path not in self.failed:
            self._problems.append(self.format(path, message, line))

    def warning(self, path: Path, message: str) -> None:
        self._warnings.append(self.format(path, message))

    def show(self, path: Path, value: object) -> str:
        """``repr(value)``, unless it came from the environment: those may be secrets."""
        names = self.interpolated.get(path)
        if names:
            return "the value of " + ", ".join("${" + name + "}" for name in names)
        return repr(value)


def _ordered(items: list[tuple[int, str]]) -> list[str]:
    return list(dict.fromkeys(text for _, text in sorted(items, key=lambda item: item[0])))


# --- YAML -------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader, except that dates stay strings (JSON has no date type)."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def parse_yaml(text: str, report: Report) -> tuple[Any, bool]:
    """Parse one YAML document into plain data, recording every key's line in ``report``.

    Returns ``(data, ok)``; ``ok`` is False after a syntax error (then nothing else can be
    checked). Duplicate keys, non-string keys and unsupported tags are reported, not fatal.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, True
        return _Builder(loader, report).build(node, (), frozenset()), True
    except _TooLargeError:
        report.problem((), f"the document is too large: aliases expand to over {_MAX_NODES} values")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = "; ".join(part for part in (exc.context, exc.problem) if part)
        lines = text.splitlines()
        if mark and mark.line < len(lines) and "${" in lines[mark.line] and "flow" in detail:
            # `[${A}, ${B}]`: `{` is a flow indicator, so the reference must be quoted.
            detail += ' (inside [ ] or { }, quote ${VAR}: ["${NEW}", "${OLD}"])'
        report.problem((), f"YAML syntax error: {detail}", mark.line + 1 if mark else None)
    except yaml.YAMLError as exc:
        report.problem((), f"YAML syntax error: {exc}")
    finally:
        loader.dispose()
    return None, False


class _TooLargeError(Exception):
    pass


class _Builder:
    def __init__(self, loader: _Loader, report: Report) -> None:
        self.loader = loader
        self.report = report
        self.flattened: set[int] = set()
        self.budget = _MAX_NODES

    def build(self, node: yaml.Node, path: Path, ancestors: frozenset[int]) -> Any:
        self.report.lines.setdefault(path, node.start_mark.line + 1)
        self.budget -= 1  # aliases are expanded: refuse "billion laughs" documents
        if self.budget < 0:
            raise _TooLargeError
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if id(node) in ancestors:
            self.report.problem(path, "a recursive YAML alias is not supported")
            return None
        inner = ancestors | {id(node)}
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            return [self.build(item, (*path, i), inner) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            return self._mapping(node, path, inner)
        self.report.problem(path, f"YAML tag {node.tag} is not supported")
        return None

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        value = self.loader.construct_object(node)
        if isinstance(value, int | float) and not isinstance(value, bool) and node.style is None:
            self.report.number_texts[path] = node.value
        if value is None or isinstance(value, str | int | float | bool):
            return value
        self.report.problem(path, f"YAML tag {node.tag} is not supported")
        return None

    def _mapping(self, node: yaml.MappingNode, path: Path, ancestors: frozenset[int]) -> Any:
        if id(node) not in self.flattened:
            self.flattened.add(id(node))
            self._check_duplicates(node, path)
            self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            scalar = isinstance(key_node, yaml.ScalarNode)
            key = self.loader.construct_object(key_node) if scalar else None
            if not isinstance(key, str):
                shown = repr(key_node.value) if scalar else "here"
                line = key_node.start_mark.line + 1
                self.report.problem(path, f"key {shown} must be a string; quote it", line)
                continue
            key_path = (*path, key)
            self.report.lines[key_path] = key_node.start_mark.line + 1  # a later key wins
            result[key] = self.build(value_node, key_path, ancestors)
        return result

    def _check_duplicates(self, node: yaml.MappingNode, path: Path) -> None:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in seen:
                message = f"duplicate key (first on line {seen[key_node.value]})"
                self.report.problem((*path, key_node.value), message, line)
            seen.setdefault(key_node.value, line)


# --- ${VAR} interpolation -----------------------------------------------------------------

_REFERENCE = re.compile(
    r"\$\$\{|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})?"
)


def interpolate(data: Any, environ: Mapping[str, str], report: Report, path: Path = ()) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string value (not keys); ``$${`` is
    a literal ``${``. The default applies when VAR is unset or empty, as in the shell. An
    unset VAR without default is a problem naming VAR, never a value."""
    if isinstance(data, str):
        return _interpolate_text(data, environ, report, path)
    if isinstance(data, list):
        return [interpolate(item, environ, report, (*path, i)) for i, item in enumerate(data)]
    if isinstance(data, dict):
        return {key: interpolate(v, environ, report, (*path, key)) for key, v in data.items()}
    return data


def _interpolate_text(text: str, environ: Mapping[str, str], report: Report, path: Path) -> str:
    if "${" not in text:
        return text
    names: list[str] = []
    defaulted: list[str] = []
    failures: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group("name"), match.group("default")
        if name is None:
            failures.append("'${' must start ${VAR} or ${VAR:-default}; write $${ for '${'")
            return ""
        names.append(name)
        value = environ.get(name)
        if default is not None and not value:
            defaulted.append(name)
            return default
        if value is None:
            failures.append(f"environment variable {name} is not set (and no default given)")
        return value or ""

    result = _REFERENCE.sub(replace, text)
    for failure in failures:
        report.problem(path, failure)
    if failures:
        report.failed.add(path)  # later checks of this value would only repeat the cause
    if names:
        report.interpolated[path] = tuple(names)
    if defaulted:
        report.defaulted[path] = tuple(defaulted)
    return result
