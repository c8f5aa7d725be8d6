"""routes.yaml against ``routes.schema.json``, with messages that point at the line.

The schema is the file's shape (docs/architecture.md, "Contract: routes.yaml"); editors use the
same file through the repo-root symlink ``routes.schema.json``, which is why it is a static file
and not generated from ``PROVIDERS`` (a test keeps the two equal). Draft 2020-12:
https://json-schema.org/draft/2020-12/json-schema-core
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from bridge.routing.document import Path, Report, suggest


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema shipped in the package (also used by editors through the repo-root
    symlink ``routes.schema.json``)."""
    text = resources.files("bridge.routing").joinpath("routes.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def validate(data: Any, report: Report) -> None:
    """Report every schema violation with a friendly message."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: json.dumps(list(e.path)))
    for error in errors:
        for path, message, line in _describe(error, report):
            report.problem(path, message, line)


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def _type_of(value: object) -> str:
    if value is None:
        return "an empty value"
    for python_type, name in ((bool, "boolean"), (dict, "object"), (list, "array")):
        if isinstance(value, python_type):
            return _TYPE_NAMES[name]
    if isinstance(value, int):
        return _TYPE_NAMES["integer"]
    return _TYPE_NAMES["number" if isinstance(value, float) else "string"]


def _expected(subschema: Mapping[str, Any]) -> str:
    types = subschema["type"] if isinstance(subschema["type"], list) else [subschema["type"]]
    scalar = {"string", "number", "boolean"} <= set(types)
    words = ["a scalar (string, number or boolean)"] if scalar else []
    for name in types:
        if (scalar and name in ("string", "number", "boolean", "null")) or name == "null":
            continue
        item_type = subschema.get("items", {}).get("type")
        if name == "array" and item_type == "string":
            words.append("a list of strings")
        elif name == "array" and item_type:
            words.append("a list of scalars")
        else:
            words.append(_TYPE_NAMES[name])
    return " or ".join(words)


def _describe(error: ValidationError, report: Report) -> Iterator[tuple[Path, str, int | None]]:
    path: Path = tuple(error.absolute_path)
    keyword = error.validator
    instance: Any = error.instance  # set on every error iter_errors yields
    sub: Any = error.schema
    last = path[-1] if path else None
    if keyword == "additionalProperties":
        known = sub.get("properties", {})
        for key in instance:
            if key not in known:
                line = report.lines.get((*path, key))
                yield path, f"unknown key {key!r}{suggest(key, known)}", line
    elif keyword == "required":
        for key in sub["required"]:
            if key not in instance:
                yield path, f"missing required key {key!r}", None
    elif keyword == "type":
        subject = "the document " if not path else ""
        yield path, f"{subject}must be {_expected(sub)}, got {_type_of(instance)}", None
    elif keyword == "pattern" and "propertyNames" in error.schema_path:
        yield (*path, instance), f"invalid name: {sub['patternErrorMessage']}", None
    elif keyword == "pattern":
        yield path, f"{report.show(path, instance)} {sub['patternErrorMessage']}", None
    elif keyword == "enum":
        choices = ", ".join(sub["enum"])
        hint = suggest(instance, sub["enum"]) if isinstance(instance, str) else ""
        yield path, f"must be one of {choices}; got {report.show(path, instance)}{hint}", None
    elif keyword == "minLength":
        source = " (after interpolating the environment)" if path in report.interpolated else ""
        yield path, f"must not be empty{source}", None
    elif keyword == "maxLength":
        limit = "GitHub allows" if last == "event_type" else "the limit is"
        yield path, f"is {len(instance)} characters; {limit} at most {sub['maxLength']}", None
    elif keyword == "minItems":
        yield path, "must not be an empty list", None
    elif keyword == "minProperties":
        yield path, "needs at least one entry", None
    elif keyword == "maxProperties":
        yield path, _too_many(last, len(instance), sub["maxProperties"]), None
    else:  # a keyword added to the schema without a friendly message yet
        detail = f": {error.message}" if not report.interpolated.get(path) else ""
        yield path, f"is invalid ({keyword}){detail}", None


def _too_many(key: object, count: int, limit: int) -> str:
    # https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
    if key == "client_payload":
        return (
            f"has {count} top-level keys; GitHub allows 10 and bridge always adds a `bridge` "
            f"key carrying the delivery's correlation id, so at most {limit}"
        )
    # https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
    if key == "inputs":
        return f"has {count} inputs; GitHub allows at most {limit}"
    return f"has {count} entries; at most {limit} allowed"
