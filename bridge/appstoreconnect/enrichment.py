"""App Store Connect enrichment: fetch the resource an event is about, once per event.

Webhooks carry an id and a state; which version, which build number and why an upload failed
are only in the API (docs/protocols.md,
"Resources read for enrichment"). :func:`fetch` asks for the instance by
its type and id (never by a URL from the payload) and returns what is stored with the event:
``{"type", "id", "attributes", "build"?, "version"?, "crash_log"?}``;
:mod:`bridge.appstoreconnect.details` shapes it for templates and the standard payload.
:class:`Enricher` makes that one fetch per event, across the routes and processes that
deliver it.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.details import FEEDBACK, FETCHED_AT
from bridge.appstoreconnect.errors import (
    AscAuthError,
    AscError,
    AscNotFoundError,
    AscTransientError,
)
from bridge.appstoreconnect.jsonapi import attributes, resource_path
from bridge.events import Event, Instance
from bridge.store import Details, EventFacts

log = logging.getLogger(__name__)
_LOCKS = 64  # events fetched at once per process (by hash of the event; others go on)
NOT_CONFIGURED = "the App Store Connect API key is not configured"
# The start of an event's details error when App Store Connect refused the key (401/403):
# the delivery log, /readyz, `bridge events` and /metrics look for it (bridge.appstoreconnect.
# key_health), since every later event will be refused too until the key is fixed.
KEY_REFUSED = "App Store Connect refused the API key"


class Enricher:
    """The details of an event's resource, fetched once per event: one thread of this process
    per event (a lock by the event's hash), and across processes the first stored answer
    wins, so every route of an event sends the same details."""

    def __init__(
        self,
        client: AscClient | None,
        facts: EventFacts,
        *,
        clock: Callable[[], float] = time.time,
        on_key: Callable[[str | None], None] | None = None,
    ) -> None:
        """``on_key`` is told how App Store Connect took the key: None (accepted) or why it
        refused it (401/403)."""
        self.client = client
        self.facts = facts
        self.clock = clock
        self.on_key = on_key
        self._locks = tuple(threading.Lock() for _ in range(_LOCKS))
        # App Store Connect answered 429 with Retry-After: no request before this time (the
        # limit is per key and hour: every delivery asking on its own would only prolong it).
        self._paused_until = 0.0

    def details(self, event: Event, *, unavailable: str | None = None) -> Details:
        """The stored details of ``event``, fetched and stored first when no delivery did;
        ``unavailable`` gives up on fetching and records why. Raises AscTransientError (the
        delivery waits and tries again) and StoreUnavailableError."""
        key = zlib.crc32(f"{event.source}\0{event.id}".encode())
        with self._locks[key % _LOCKS]:
            stored = self.facts.details(event.source, event.id)  # another route's delivery?
            if stored is not None:
                return stored
            found = Details(error=unavailable) if unavailable else self.fetch(event)
            return self.facts.save_details(event.source, event.id, found)

    def fetch(self, event: Event) -> Details:
        """Ask App Store Connect now and store nothing: the details, or why there are none.
        Raises AscTransientError (rate limited, unreachable, 5xx)."""
        if self.client is None:
            return Details(error=NOT_CONFIGURED)
        if event.instance is None:
            return Details(error="the event names no resource")
        expected = INSTANCE_TYPES.get(event.type)
        if event.instance.type != expected:
            # A signed payload naming /v1/users/… (or any type its event does not use) would
            # have the team key read it: only the documented instance type is ever fetched.
            named = event.instance.type[:64]
            return Details(
                error=f"not fetched: {event.type} events are about {expected}, not {named}"
            )
        wait = self._paused_until - self.clock()
        if wait > 0:
            message = f"rate limited: App Store Connect asked to wait {wait:.0f} s more"
            raise AscTransientError(message, status=429, retry_after=wait)
        try:
            found = fetch(self.client, event.instance)
            # Details describe the resource when they were fetched, not when the event
            # happened: say when (details.py flags a state that moved on since).
            found[FETCHED_AT] = (
                datetime.fromtimestamp(self.clock(), UTC)
                .isoformat(timespec="seconds")
                .replace("+00:00", "Z")
            )
            if self.on_key is not None:
                self.on_key(None)
            return Details(data=found)
        except AscTransientError as exc:
            if exc.status == 429 and exc.retry_after:
                self._paused_until = max(self._paused_until, self.clock() + exc.retry_after)
            raise
        except AscAuthError as exc:  # every event will fail so: say it where operators look
            if self.on_key is not None:
                self.on_key(exc.message)
            log.error("delivering without App Store Connect details: %s: %s", KEY_REFUSED, exc)
            return Details(error=f"{KEY_REFUSED} ({exc.status}): {exc.message}")
        except AscError as exc:  # gone, invalid: deliver without details
            log.warning(
                "delivering without App Store Connect details: %s", exc.message,
                extra={"event_id": event.id, "source": event.source},
            )  # fmt: skip
            return Details(error=exc.message)


# The instance type each event type names (docs/protocols.md, "Event types"): the only
# resources enrichment reads with the team key.
INSTANCE_TYPES: Mapping[str, str] = {
    "appStoreVersionAppVersionStateUpdated": "appStoreVersions",
    "buildUploadStateUpdated": "buildUploads",
    "buildBetaDetailExternalBuildStateUpdated": "buildBetaDetails",
    "betaFeedbackScreenshotSubmissionCreated": "betaFeedbackScreenshotSubmissions",
    "betaFeedbackCrashSubmissionCreated": "betaFeedbackCrashSubmissions",
    "backgroundAssetVersionStateUpdated": "backgroundAssetVersions",
    "backgroundAssetVersionInternalBetaReleaseCreated": (
        "backgroundAssetVersionInternalBetaReleases"
    ),
    "backgroundAssetVersionExternalBetaReleaseStateUpdated": (
        "backgroundAssetVersionExternalBetaReleases"
    ),
    "backgroundAssetVersionAppStoreReleaseStateUpdated": "backgroundAssetVersionAppStoreReleases",
    "alternativeDistributionPackageVersionCreated": "alternativeDistributionPackageVersions",
    "alternativeDistributionPackageAvailableUpdated": "alternativeDistributionPackages",
}

# GET /v1/appStoreVersions/{id}/build: the build a version will ship (its build number).
BUILD_RELATIONSHIP = frozenset({"appStoreVersions"})
# GET /v1/{type}/{id}?include=build
BUILD_INCLUDED = frozenset(
    {"buildBetaDetails", "betaFeedbackCrashSubmissions", "betaFeedbackScreenshotSubmissions"}
)
CRASH_LOG_LINES = 40  # the exception and the crashing thread's top frames


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


def _included(document: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    included = document.get("included")
    for item in included if isinstance(included, list) else ():
        if isinstance(item, dict) and item.get("type") == type_:
            return item
    return None


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
