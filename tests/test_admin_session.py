"""The delivery log's session through the ``auth`` fixture: logging out takes the session's
CSRF token, like every form; a cross-site page cannot log an operator out."""

from __future__ import annotations

from tests.support.auth import AdminAuth


def test_log_out_without_the_csrf_token_is_refused_and_the_session_stays(
    auth: AdminAuth,
) -> None:
    auth.log_in()
    refused = auth.client.post("/logout")
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert auth.client.get("/deliveries").status_code == 200  # still logged in
    auth.log_out()
    assert auth.client.get("/deliveries").status_code == 302  # to the login form


def test_log_out_from_another_site_is_refused(auth: AdminAuth) -> None:
    csrf = auth.log_in()
    response = auth.client.post(
        "/logout", data={"csrf_token": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert auth.client.get("/deliveries").status_code == 200
