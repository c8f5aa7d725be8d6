"""App Store Connect details as templates and the standard payload show them: pure shaping of
what :mod:`bridge.appstoreconnect.enrichment` fetched (no I/O).

"details" means three things along the way, each with its own name in the code:

* the stored record, :class:`bridge.store.Details` (``data``: the fetched document, or
  ``error``: why there is none);
* ``details`` in a route's templates: :func:`template_details`, the resource's attributes as
  the API returns them, plus ``build``;
* ``details`` in the standard payload: :func:`summary` (and ``review``), the compact shape the
  Fastfile's ``asc_details`` lane writes (workflows-examples/README.md, "What the workflows
  receive").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# When the details were fetched (ISO 8601, UTC): they describe the resource then.
FETCHED_AT = "fetched_at"
# In the summary when the event has a new state: True when the fetched resource's state is
# another one (it moved on between the event and the fetch), False when it is the same.
STATE_CHANGED = "state_changed_since_event"
FEEDBACK = frozenset({"betaFeedbackCrashSubmissions", "betaFeedbackScreenshotSubmissions"})
# The summary's bounds (GitHub: the whole client_payload < 64 KB): one string, one list, all.
MAX_TEXT = 2000
MAX_ITEMS = 20  # errors, warnings, screenshots
SUMMARY_BYTES = 32 * 1024


def template_details(found: Mapping[str, Any] | None) -> dict[str, Any]:
    """``details`` in templates: the resource's attributes as the API returns them, plus
    ``build`` (the build's attributes) where there is one. Empty when nothing was fetched."""
    if found is None:
        return {}
    details = dict(found.get("attributes") or {})
    if "build" in found:
        details["build"] = found["build"]
    if FETCHED_AT in found:
        details[FETCHED_AT] = found[FETCHED_AT]
    return details


def summary(found: Mapping[str, Any], *, event_state: str | None = None) -> dict[str, Any]:
    """The compact ``details`` of the standard payload: at most SUMMARY_BYTES of JSON, with
    strings and lists cut shorter the longer they are, so the dispatch stays within GitHub's
    64 KB whatever Apple returns. With ``fetched_at``, and with ``event_state`` (the event's
    new state) ``state_changed_since_event`` when the resource has a state to compare."""
    for text, items in ((MAX_TEXT, MAX_ITEMS), (500, 5), (120, 1)):
        result = _with_time(found, _summary(found, text, items), event_state)
        if len(json.dumps(result, ensure_ascii=False).encode()) <= SUMMARY_BYTES:
            return result
    return {k: v for k, v in result.items() if not isinstance(v, list | dict)}


def _with_time(
    found: Mapping[str, Any], result: dict[str, Any], event_state: str | None
) -> dict[str, Any]:
    if isinstance(found.get(FETCHED_AT), str):
        result[FETCHED_AT] = found[FETCHED_AT]
    fetched_state = result.get("state")
    if event_state is not None and isinstance(fetched_state, str):
        result[STATE_CHANGED] = fetched_state != event_state
    return result


def _summary(found: Mapping[str, Any], text: int, items: int) -> dict[str, Any]:
    kind = found.get("type")
    a: Mapping[str, Any] = found.get("attributes") or {}
    build: Mapping[str, Any] = found.get("build") or {}
    if kind == "buildUploads":
        state = _mapping(a.get("state"))
        result: dict[str, Any] = {
            "version": a.get("cfBundleShortVersionString"),
            "build_number": a.get("cfBundleVersion"),
            "platform": a.get("platform"),
            "state": state.get("state"),
            "errors": _issues(state.get("errors"), text, items),
            "warnings": _issues(state.get("warnings"), text, items),
        }
    elif kind == "appStoreVersions":
        result = {
            "version": a.get("versionString"),
            "build_number": build.get("version"),
            "platform": a.get("platform"),
            "state": a.get("appVersionState") or a.get("appStoreState"),
        }
    elif kind in FEEDBACK:
        shots = _list(a.get("screenshots"))
        result = {
            "kind": "crash" if kind == "betaFeedbackCrashSubmissions" else "screenshot",
            "version": found.get("version"),
            "build_number": build.get("version"),
            "comment": a.get("comment"),
            "email": a.get("email"),
            "device_model": a.get("deviceModel"),
            "os_version": a.get("osVersion"),
            "app_platform": a.get("appPlatform"),
            "created": a.get("createdDate"),
            "screenshots": [
                _clip(s.get("url"), 4 * text) for s in shots[:items] if isinstance(s, dict)
            ],
            "crash_log": found.get("crash_log"),
        }
    elif kind == "buildBetaDetails":
        result = {
            "build_number": build.get("version"),
            "state": a.get("externalBuildState"),
            "internal_state": a.get("internalBuildState"),
        }
    else:  # background assets, alternative distribution: their plain attributes
        result = {k: v for k, v in a.items() if isinstance(v, str | int | float | bool)}
        result = dict(list(result.items())[: 2 * MAX_ITEMS])
    return {k: _clip(v, 4 * text if k == "crash_log" else text) for k, v in result.items()}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _issues(listed: object, text: int, items: int) -> list[dict[str, str]]:
    return [
        {
            "code": _clip(str(i.get("code", "")), text),
            "description": _clip(str(i.get("description", "")), text),
        }
        for i in _list(listed)[:items]
        if isinstance(i, dict)
    ]


def _clip(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value
