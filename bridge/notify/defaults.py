"""The default message per event type: what a release team wants to read in a chat room,
built from the event, the App Store Connect details when the route enriches, the App Review
times, and links (App Store Connect, the Pgyer install page, the delivery log)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.appstoreconnect.details import summary
from bridge.delivery.context import DeliveryContext
from bridge.events import Event
from bridge.notify.message import Message, Tone

ASC_URL = "https://appstoreconnect.apple.com/apps"
MAX_ISSUES = 5  # processing errors listed in a message

_BAD = frozenset(
    {
        "FAILED", "REJECTED", "METADATA_REJECTED", "DEVELOPER_REJECTED", "INVALID_BINARY",
        "BETA_REJECTED", "PROCESSING_EXCEPTION", "MISSING_EXPORT_COMPLIANCE", "EXPIRED",
    }
)  # fmt: skip
_GOOD = frozenset(
    {
        "COMPLETE", "READY_FOR_DISTRIBUTION", "PENDING_DEVELOPER_RELEASE", "ACCEPTED",
        "PENDING_APPLE_RELEASE", "BETA_APPROVED", "READY_FOR_BETA_TESTING", "IN_BETA_TESTING",
        "READY_FOR_TESTING",
    }
)  # fmt: skip
_TITLES = {
    "buildUploadStateUpdated": "Build upload",
    "appStoreVersionAppVersionStateUpdated": "App Store version",
    "buildBetaDetailExternalBuildStateUpdated": "TestFlight build",
    "betaFeedbackCrashSubmissionCreated": "TestFlight crash report",
    "betaFeedbackScreenshotSubmissionCreated": "TestFlight feedback",
    "webhookPingCreated": "App Store Connect webhook ping",
    "updateVersion": "New build on Pgyer",
    "feedback": "Pgyer feedback",
    "crashlog": "Pgyer crash log",
}


def default_message(
    event: Event, context: DeliveryContext, *, log_url: str | None = None
) -> Message:
    """The message a ``notify:`` route without ``text:`` sends for ``event``."""
    if event.provider == "pgyer":
        return _pgyer(event, log_url)
    found = summary(context.details) if context.details is not None else {}
    what = _TITLES.get(event.type, event.type)
    version = _version(found)
    title = f"{what} {version}" if version else what
    if event.new_state:
        title += f": {_human(event.new_state)}"
    facts: list[tuple[str, str]] = [("App", event.source)]
    if version:
        facts.append(("Version", version))
    if event.old_state or event.new_state:
        facts.append(("State", f"{event.old_state or '—'} → {event.new_state or '—'}"))
    review = context.review or {}
    if review.get("total_seconds") is not None:
        facts.append(("Review time", _duration(review)))
    text = _problem(event, found)
    links = [("App Store Connect", ASC_URL)]
    if log_url:
        links.append(("Delivery log", log_url))
    tone = _tone(event.new_state)
    if event.type == "betaFeedbackCrashSubmissionCreated":
        tone = "bad"
    return Message(title, tuple(facts), text, tuple(links), tone)


def _pgyer(event: Event, log_url: str | None) -> Message:
    p: Mapping[str, Any] = event.payload
    app = str(p.get("title") or event.source)
    version = str(p.get("os_version") or "")
    build = str(p.get("build_version") or "")
    shown = f"{version} ({build})" if version and build else version or build
    title = f"{_TITLES.get(event.type, event.type)}: {app} {shown}".rstrip()
    facts = [("App", app)]
    if shown:
        facts.append(("Version", shown))
    if p.get("device_type"):
        facts.append(("Platform", str(p["device_type"])))
    links = []
    if isinstance(p.get("link"), str) and p["link"].startswith("https://"):
        links.append(("Install page", p["link"]))
    if log_url:
        links.append(("Delivery log", log_url))
    tone: Tone = "bad" if event.type == "crashlog" else "good"
    if event.type == "feedback":
        tone = "neutral"
    return Message(title, tuple(facts), str(p.get("notes") or ""), tuple(links), tone)


def _version(found: Mapping[str, Any]) -> str:
    version, build = found.get("version"), found.get("build_number")
    if version and build:
        return f"{version} ({build})"
    return str(version or (f"build {build}" if build else ""))


def _problem(event: Event, found: Mapping[str, Any]) -> str:
    """Processing errors, a tester's comment: what someone has to act on."""
    issues = found.get("errors") or []
    if issues:
        lines = [f"{i.get('code', '')}: {i.get('description', '')}" for i in issues[:MAX_ISSUES]]
        more = len(issues) - MAX_ISSUES
        return "\n".join(lines + ([f"… and {more} more"] if more > 0 else []))
    if found.get("comment"):
        who = f" ({found['email']})" if found.get("email") else ""
        return f"“{found['comment']}”{who}"
    if event.new_state in ("REJECTED", "METADATA_REJECTED"):
        return "App Review rejected this version: see Resolution Center in App Store Connect."
    return ""


def _duration(review: Mapping[str, Any]) -> str:
    parts = []
    for label, key in (("waited", "wait_seconds"), ("in review", "review_seconds")):
        if review.get(key) is not None:
            parts.append(f"{label} {_seconds(int(review[key]))}")
    parts.append(f"total {_seconds(int(review['total_seconds']))}")
    return " · ".join(parts)


def _seconds(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def _human(state: str) -> str:
    return state.replace("_", " ").capitalize()


def _tone(state: str | None) -> Tone:
    if state in _BAD:
        return "bad"
    return "good" if state in _GOOD else "neutral"
