"""routes.yaml's ``targets:``, ``notify:`` and ``alerts:`` as the loader reads them
(docs/architecture.md, "Contract: chat and HTTP targets, alerts"): the checks the JSON schema
cannot express (a route with both or neither of ``dispatch``/``notify``, names that name no
target, the keys each kind needs or refuses, templates that do not compile), and the typed
:class:`~bridge.routing.model.Target` objects."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from bridge.routing.checks import check_templates
from bridge.routing.document import Path, Report, suggest
from bridge.routing.model import Target

# The keys each kind takes besides `kind` (and `rate_limit`, which every kind takes).
KIND_KEYS: Mapping[str, frozenset[str]] = {
    "slack": frozenset({"url"}),
    "teams": frozenset({"url"}),
    "discord": frozenset({"url"}),
    "wecom": frozenset({"url"}),
    "dingtalk": frozenset({"url", "secret"}),
    "feishu": frozenset({"url", "secret"}),
    "telegram": frozenset({"token", "chat_id", "api_url"}),
    "webhook": frozenset({"url", "secret", "headers", "body"}),
}
KIND_REQUIRED: Mapping[str, tuple[str, ...]] = {
    kind: ("token", "chat_id") if kind == "telegram" else ("url",) for kind in KIND_KEYS
}


def report_target_problems(data: Any, report: Report) -> None:
    """Record every problem of ``targets:``, of each route's ``notify:`` and of ``alerts:``.
    ``data`` may break the schema (already reported), so every value is type-checked."""
    if not isinstance(data, dict):
        return
    found = data.get("targets")
    targets: dict[str, Any] = found if isinstance(found, dict) else {}
    for name, target in targets.items():
        if isinstance(target, dict):
            _check_target(("targets", name), target, report)
    routes = data.get("routes")
    for i, route in enumerate(routes if isinstance(routes, list) else ()):
        if not isinstance(route, dict):
            continue
        here: Path = ("routes", i)
        if "dispatch" in route and "notify" in route:
            report.problem(
                (*here, "notify"), "a route has `dispatch` (GitHub) or `notify` (targets), not both"
            )
        elif "dispatch" not in route and "notify" not in route:
            report.problem(here, "a route needs `dispatch` (GitHub) or `notify` (targets)")
        notify = route.get("notify")
        if isinstance(notify, dict):
            for path, name in _names((*here, "notify", "target"), notify.get("target")):
                _check_reference(path, name, targets, report)
            check_templates((*here, "notify", "text"), notify.get("text"), report)
    alerts = data.get("alerts")
    if isinstance(alerts, dict):
        for key in ("failed", "stuck"):
            if isinstance(alerts.get(key), str):
                _check_reference(("alerts", key), alerts[key], targets, report)


def _check_target(here: Path, target: dict[str, Any], report: Report) -> None:
    kind = target.get("kind")
    if not isinstance(kind, str) or kind not in KIND_KEYS:
        return  # the schema reports it
    allowed = KIND_KEYS[kind] | {"kind", "rate_limit"}
    for key in target:
        if key not in allowed:
            takes = ", ".join(f"`{k}`" for k in sorted(KIND_KEYS[kind] | {"rate_limit"}))
            report.problem(
                (*here, key), f"a {kind} target does not take `{key}` (it takes {takes})"
            )
    missing = [f"`{key}`" for key in KIND_REQUIRED[kind] if key not in target]
    if missing:
        report.problem(here, f"a {kind} target needs {' and '.join(missing)}")
    for key in ("headers", "body"):
        check_templates((*here, key), target.get(key), report)


def _check_reference(path: Path, name: str, targets: Mapping[str, Any], report: Report) -> None:
    if name not in targets:
        known = ", ".join(sorted(targets)) or "none defined"
        report.problem(path, f"unknown target {name!r} (targets: {known}){suggest(name, targets)}")


def _names(path: Path, value: object) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        yield from (((*path, i), item) for i, item in enumerate(value) if isinstance(item, str))


def build_targets(data: dict[str, Any]) -> dict[str, Target]:
    """The typed targets of a document that passed the schema and the checks."""
    targets = {}
    for name, raw in (data.get("targets") or {}).items():
        chat_id = raw.get("chat_id")
        targets[name] = Target(
            name=name,
            kind=raw["kind"],
            url=raw.get("url"),
            secret=raw.get("secret"),
            token=raw.get("token"),
            chat_id=None if chat_id is None else str(chat_id),
            api_url=raw.get("api_url"),
            headers=raw.get("headers"),
            body=raw.get("body"),
            rate_limit=raw.get("rate_limit"),
        )
    return targets
