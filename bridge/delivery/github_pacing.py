"""The dispatcher's pacing plan: which credential each GitHub route sends with, and the limits
(``BRIDGE_GITHUB_PER_MINUTE``, ``BRIDGE_GITHUB_PER_HOUR``; bridge.github_limits).

GitHub applies its secondary limits per user or App installation. A personal access token is
one credential for every route. A GitHub App has one installation per account, so the
repository's owner names the credential (no API call needed; with
``GITHUB_APP_INSTALLATION_ID`` every repository shares that one installation). The name is
what the store's ``github_sends`` keeps: never the token itself.
"""

from __future__ import annotations

import logging

from bridge.config import Settings
from bridge.github_limits import GITHUB_PER_HOUR, GITHUB_PER_MINUTE, Limits, Pacing
from bridge.routing.model import Notify, RoutesConfig

log = logging.getLogger(__name__)


def credential_name(settings: Settings, repository: str) -> str:
    """The name under which dispatches to ``repository`` are counted."""
    if settings.github_token:
        return "token"
    if settings.github_app_installation_id is not None:
        return f"installation:{settings.github_app_installation_id}"
    return "installation:" + repository.partition("/")[0].lower()


def pacing_plan(routes: RoutesConfig, settings: Settings, *, sending: bool) -> Pacing:
    """The plan for ``routes``; no route is paced when nothing is sent to GitHub
    (``sending`` False: dry run)."""
    limits = Limits(settings.github_per_minute, settings.github_per_hour)
    credentials: dict[str, list[str]] = {}
    if sending:
        for route in routes.routes:
            if not isinstance(route.dispatch, Notify):
                name = credential_name(settings, route.dispatch.repository)
                credentials.setdefault(name, []).append(route.name)
        if credentials and limits.above_github:
            log.warning(
                "BRIDGE_GITHUB_PER_MINUTE=%d / BRIDGE_GITHUB_PER_HOUR=%d is above GitHub's "
                "documented %d a minute and %d an hour: expect refusals from github.com",
                limits.per_minute, limits.per_hour, GITHUB_PER_MINUTE, GITHUB_PER_HOUR,
            )  # fmt: skip
    return Pacing(limits, {c: tuple(r) for c, r in credentials.items()})
