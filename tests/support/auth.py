"""Logging in to the delivery log (``BRIDGE_ADMIN_TOKEN``) through the login form."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

TOKEN = "admin-token-for-tests-0123456789abcdef"


def log_in(client: FlaskClient, token: str = TOKEN) -> str:
    """Log in through the form; returns the session's CSRF token, read from a page."""
    response = client.post("/login", data={"token": token, "next": "/deliveries"})
    assert response.status_code == 302
    page = client.get("/deliveries").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


class AdminAuth:
    """The ``auth`` fixture: log in and out of an app whose BRIDGE_ADMIN_TOKEN is
    :data:`TOKEN`, through ``client``; ``csrf`` is the session's token once logged in."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf: str | None = None

    def log_in(self, token: str = TOKEN) -> str:
        self.csrf = log_in(self.client, token)
        return self.csrf

    def log_out(self) -> None:
        assert self.csrf is not None, "log_in() first"
        response = self.client.post("/logout", data={"csrf_token": self.csrf})
        assert response.status_code == 302
        self.csrf = None
