"""Load routes.yaml: read it, interpolate ``${VAR}``, validate it against the schema, run the
checks the schema cannot express, and build :mod:`bridge.routing.model` objects."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from bridge.config import parse_duration
from bridge.providers import PROVIDERS
from bridge.routing.checks import report_problems, report_warnings
from bridge.routing.document import Report, interpolate, parse_yaml
from bridge.routing.model import (
    Alerts,
    Condition,
    Dispatch,
    Notify,
    RepositoryDispatch,
    Route,
    RoutesConfig,
    RoutesError,
    Source,
    WorkflowDispatch,
)
from bridge.routing.placeholders import warn_placeholders
from bridge.routing.schema import validate
from bridge.routing.targets import build_targets, report_target_problems


def load_routes(path: str | os.PathLike[str], environ: Mapping[str, str]) -> RoutesConfig:
    """Read, interpolate (``${VAR}`` from ``environ``), validate and build routes.yaml.

    Raises RoutesError listing every problem found: file missing or unreadable, YAML syntax,
    unset variables, schema violations (unknown keys, wrong types, missing keys, GitHub's
    dispatch limits), and cross-checks (duplicate names, unknown sources, credentials,
    dispatch kind, templates that do not compile). Suspicious but valid things (an event
    type no provider sends, a state the provider never sends) become ``warnings``.
    """
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise RoutesError([f"{file}: cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise RoutesError([f"{file}: is not UTF-8 text (byte {exc.start})"]) from None
    report = Report(file)
    data, ok = parse_yaml(text, report)
    if ok and data is None:
        report.problem((), "the file is empty; expected `sources:` and `routes:`")
    if not ok or data is None:
        raise RoutesError(report.problems)
    data = interpolate(data, environ, report)
    validate(data, report)
    report_problems(data, report)
    report_target_problems(data, report)
    if report.problems:
        raise RoutesError(report.problems)
    config = _build(file, data)
    report_warnings(config, data, report)
    placeholders = warn_placeholders(data, report)
    return RoutesConfig(
        config.path,
        config.sources,
        config.routes,
        tuple(report.warnings),
        placeholders,
        targets=build_targets(data),
        alerts=_alerts(data),
        secrets=_secrets(report.interpolated, environ),
    )


# --- typed objects (the data is valid here) -----------------------------------------------


def _as_set(value: str | list[str] | None) -> frozenset[str] | None:
    """A "name or list of names" as a set; None (the key is absent) stays None."""
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else value)


def _build(file: str, data: dict[str, Any]) -> RoutesConfig:
    """The typed form of ``data``, which has passed the schema and the checks; the
    credentials are read under the keys the source's provider declares."""
    sources = {}
    for name, raw in data["sources"].items():
        one, many = PROVIDERS[raw["provider"]].CREDENTIAL_KEYS
        secrets = (raw[one],) if one in raw else tuple(raw[many])
        silent = raw.get("silent_after")
        limit = raw.get("limit") or {}
        sources[name] = Source(
            name, raw["provider"], secrets, raw.get("enrich", False), raw.get("webhook_id"),
            parse_duration(silent, name=f"{name}.silent_after") if silent else None,
            events_per_minute=limit.get("events_per_minute"), mib_per_day=limit.get("mib_per_day"),
            max_age=parse_duration(raw["max_age"], name="max_age") if "max_age" in raw else None,
        )  # fmt: skip
    routes = []
    for raw in data.get("routes") or ():
        events = _as_set(raw["event"])
        routes.append(
            Route(
                name=raw["name"],
                sources=_as_set(raw.get("source")),
                events=None if events is None or "*" in events else events,
                from_states=_as_set(raw.get("from")),
                to_states=_as_set(raw.get("to")),
                when=tuple(
                    Condition(path, tuple(value) if isinstance(value, list) else (value,))
                    for path, value in (raw.get("when") or {}).items()
                ),
                dispatch=_notify(raw["notify"]) if "notify" in raw else _dispatch(raw["dispatch"]),
                description=raw.get("description"),
                enrich=raw.get("enrich", False),
            )
        )
    return RoutesConfig(file, sources, tuple(routes))


def _dispatch(raw: dict[str, Any]) -> Dispatch:
    if "event_type" in raw:
        return RepositoryDispatch(raw["repository"], raw["event_type"], raw.get("client_payload"))
    return WorkflowDispatch(raw["repository"], raw["workflow"], raw["ref"], raw.get("inputs"))


def _notify(raw: dict[str, Any]) -> Notify:
    targets = raw["target"]
    mention = raw.get("mention", ())
    return Notify(
        tuple([targets] if isinstance(targets, str) else targets),
        raw.get("text"),
        tuple([mention] if isinstance(mention, str) else mention),
    )


def _alerts(data: dict[str, Any]) -> Alerts:
    raw = data.get("alerts") or {}
    after = raw.get("stuck_after")
    stuck_after = 15 * 60.0 if after is None else parse_duration(after, name="alerts.stuck_after")
    return Alerts(raw.get("failed"), raw.get("stuck"), stuck_after)


def _secrets(
    interpolated: Mapping[tuple[str | int, ...], tuple[str, ...]], environ: Mapping[str, str]
) -> dict[str, str]:
    """Every value ``${VAR}`` put into ``targets:`` (tokens in URLs, bodies, headers), mapped
    to how it is shown instead: ``${VAR}``. Longest first, so that a secret containing
    another is replaced whole."""
    found: dict[str, str] = {}
    for path, names in interpolated.items():
        if path[:1] != ("targets",):
            continue
        for name in names:
            value = environ.get(name)
            if value:
                found.setdefault(value, "${" + name + "}")
    return dict(sorted(found.items(), key=lambda item: -len(item[0])))
