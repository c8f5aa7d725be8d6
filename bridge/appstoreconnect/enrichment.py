"""App Store Connect enrichment: fetch the resource an event is about, once per event.

Webhooks carry an id and a state; which version, which build number and why an upload failed
are only in the API (docs/protocols.md, "Event types"). :func:`fetch` asks for the instance by its
type and id (never by a URL from the payload) and returns what is stored with the event:
``{"type", "id", "attributes", "build"?, "crash_log"?}``. :func:`summary` turns that into the
compact ``details`` object of the standard payload, in the shape the Fastfile's
``asc_details`` lane writes (workflows-examples/README.md, "What the workflows receive").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from bridge.appstoreconnect.client import (
    AscClient,
    AscError,
    AscNotFoundError,
    AscTransientError,
    attributes,
    resource_path,
)
from bridge.events import Instance

# GET /v1/appStoreVersions/{id}/build: the build a version will ship (its build number).
BUILD_RELATIONSHIP = frozenset({"appStoreVersions"})
# GET /v1/{type}/{id}?include=build
BUILD_INCLUDED = frozenset(
    {"buildBetaDetails", "betaFeedbackCrashSubmissions", "betaFeedbackScreenshotSubmissions"}
)
FEEDBACK = frozenset({"betaFeedbackCrashSubmissions", "betaFeedbackScreenshotSubmissions"})
CRASH_LOG_LINES = 40  # the exception and the crashing thread's top frames
# The summary's bounds (GitHub: the whole client_payload < 64 KB): one string, one list, all.
MAX_TEXT = 2000
MAX_ITEMS = 20  # errors, warnings, screenshots
SUMMARY_BYTES = 32 * 1024


def fetch(client: AscClient, instance: Instance) -> dict[str, Any]:
    """The instance's attributes (and its build's, for the types that have one). Raises
    AscError: AscTransientError means try again later; any other means it cannot be had."""
    params = {"include": "build"} if instance.type in BUILD_INCLUDED else None
    document = client.get(resource_path(instance.type, instance.id), params)
    found: dict[str, Any] = {
        "type": instance.type,
        "id": instance.id,
        "attributes": attributes(document.get("data")),
    }
    build: Mapping[str, Any] | None = None
    if instance.type in BUILD_RELATIONSHIP:
        try:
            related = client.get(resource_path(instance.type, instance.id, "build"))
        except AscNotFoundError:
            related = {}
        build = related.get("data") if isinstance(related.get("data"), dict) else None
    elif instance.type in BUILD_INCLUDED:
        build = _included(document, "builds")
    if instance.type in BUILD_RELATIONSHIP | BUILD_INCLUDED:
        found["build"] = attributes(build) if build is not None else None
    if instance.type in FEEDBACK and build is not None:
        found["version"] = _best_effort(client, _pre_release_version, str(build.get("id", "")))
    if instance.type == "betaFeedbackCrashSubmissions":
        found["crash_log"] = _best_effort(client, _crash_log, instance.id)
    return found


def template_details(found: Mapping[str, Any] | None) -> dict[str, Any]:
    """``details`` in templates: the resource's attributes as the API returns them, plus
    ``build`` (the build's attributes) where there is one. Empty when nothing was fetched."""
    if found is None:
        return {}
    details = dict(found.get("attributes") or {})
    if "build" in found:
        details["build"] = found["build"]
    return details


def summary(found: Mapping[str, Any]) -> dict[str, Any]:
    """The compact ``details`` of the standard payload: at most SUMMARY_BYTES of JSON, with
    strings and lists cut shorter the longer they are, so the dispatch stays within GitHub's
    64 KB whatever Apple returns."""
    for text, items in ((MAX_TEXT, MAX_ITEMS), (500, 5), (120, 1)):
        result = _summary(found, text, items)
        if len(json.dumps(result, ensure_ascii=False).encode()) <= SUMMARY_BYTES:
            return result
    return {k: v for k, v in result.items() if not isinstance(v, list | dict)}


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


def _included(document: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    included = document.get("included")
    for item in included if isinstance(included, list) else ():
        if isinstance(item, dict) and item.get("type") == type_:
            return item
    return None


def _issues(listed: object, text: int, items: int) -> list[dict[str, str]]:
    return [
        {
            "code": _clip(str(i.get("code", "")), text),
            "description": _clip(str(i.get("description", "")), text),
        }
        for i in _list(listed)[:items]
        if isinstance(i, dict)
    ]


def _pre_release_version(client: AscClient, build_id: str) -> str | None:
    document = client.get(resource_path("builds", build_id, "preReleaseVersion"))
    version = attributes(document.get("data")).get("version")
    return str(version) if version is not None else None


def _crash_log(client: AscClient, submission_id: str) -> str | None:
    document = client.get(resource_path("betaFeedbackCrashSubmissions", submission_id, "crashLog"))
    text = attributes(document.get("data")).get("logText")
    if not isinstance(text, str) or not text:
        return None
    return "".join(text.splitlines(keepends=True)[:CRASH_LOG_LINES])


def _best_effort(
    client: AscClient, get: Callable[[AscClient, str], str | None], id_: str
) -> str | None:
    """A secondary fact (the feedback's version, the crash log): missing is fine, but a
    transient failure still retries the whole enrichment."""
    if not id_:
        return None
    try:
        return get(client, id_)
    except AscTransientError:
        raise
    except AscError:
        return None


def _clip(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value
