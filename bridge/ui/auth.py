"""Who may use the delivery log and its actions: holders of ``BRIDGE_ADMIN_TOKEN``, and nobody
when it is unset (fail closed: the pages answer 404 and say how to turn them on).

* Scripts send ``Authorization: Bearer <token>``; browsers log in once with a form that sets a
  session cookie (signed with a key derived from the token, so rotating the token signs
  everyone out; ``Secure``, ``HttpOnly``, ``SameSite=Lax``, 12 h without use, 24 h at most).
  The store keeps which sessions still count: logging out ends that session (a copy of its
  cookie included), "log out everywhere" ends every one.
* A POST from a cookie session must carry the session's CSRF token (and a same-origin
  ``Origin`` when the browser sends one); a bearer header needs neither, as browsers never add
  it by themselves.
* Tokens are compared in constant time; none is ever logged or rendered.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from bridge.services import current_services
from bridge.ui.redirects import safe_next
from bridge.ui.throttle import GuessThrottle

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)

SESSION_COOKIE = "bridge_session"
SESSION_IDLE = timedelta(hours=12)
# However active: a tab that refreshes itself keeps a session alive past SESSION_IDLE.
SESSION_MAX_AGE = timedelta(hours=24)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# No script, no inline style, no framing, forms only to this site.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def configure(app: Flask, token: str | None) -> None:
    """Session settings (only when a token is set: no token, no key, no session) and the
    login/logout views."""
    app.extensions["bridge.throttle"] = GuessThrottle()
    if token:
        app.secret_key = hmac.new(token.encode(), b"bridge session key v1", hashlib.sha256).digest()
        app.config.update(
            SESSION_COOKIE_NAME=SESSION_COOKIE,
            SESSION_COOKIE_SECURE=True,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            PERMANENT_SESSION_LIFETIME=SESSION_IDLE,
        )
    app.register_blueprint(bp)
    app.add_template_global(csrf_token)


def tokens_match(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def csrf_token() -> str:
    return str(session.get("csrf", ""))


def throttle() -> GuessThrottle:
    """This process's count of wrong tokens per client (bridge.ui.throttle)."""
    found: GuessThrottle = current_app.extensions["bridge.throttle"]
    return found


def client_address() -> str:
    return request.remote_addr or "unknown"


def throttled() -> Response | None:
    """429 with Retry-After when this client sent too many wrong tokens lately."""
    wait = throttle().retry_after(client_address())
    if wait is None:
        return None
    message = f"too many wrong tokens from this address: retry in {wait} s"
    if request.endpoint == "auth.login_submit":
        page = render_template("message.html", title="Too many attempts", message=message)
        response = current_app.make_response((page, 429))
    else:
        response = jsonify(error=message)
        response.status_code = 429
    response.headers["Retry-After"] = str(wait)
    return response


def guard() -> BaseResponse | tuple[str | Response, int] | None:
    """``before_request`` of every admin blueprint: None lets the request through."""
    token = current_services().settings.admin_token
    if not token:
        return disabled()
    if "Authorization" in request.headers:
        if (refused := throttled()) is not None:
            return refused
        given = bearer_token()
        if given is None or not tokens_match(given, token):
            log.warning("admin request refused: wrong bearer token (%s)", request.path)
            throttle().failed(client_address(), "admin bearer token")
            return unauthorized("wrong bearer token")
        throttle().succeeded(client_address())
        g.admin_via = "bearer"
        return None
    if session.get("admin") is not True or not session_valid():
        session.clear()
        if request.method in _SAFE_METHODS:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return unauthorized("log in first")
    if request.method not in _SAFE_METHODS and not _same_origin_with_csrf():
        log.warning("admin request refused: missing or wrong CSRF token (%s)", request.path)
        return render_template("message.html", title="Refused", message=(
            "This form has expired or did not come from this site. Go back, reload the page "
            "and try again."
        )), 403  # fmt: skip
    g.admin_via = "session"
    return None


def session_valid() -> bool:
    """The session cookie is one bridge still honours: opened less than SESSION_MAX_AGE ago,
    in the current generation (not before a "log out everywhere"), and not logged out (the
    store says; a copy of the cookie made before logging out is refused too). Raises
    StoreUnavailableError (503): fail closed."""
    since, generation, sid = session.get("since"), session.get("gen"), session.get("sid")
    if not isinstance(since, float | int) or not isinstance(generation, int):
        return False
    if not isinstance(sid, str) or time.time() - since > SESSION_MAX_AGE.total_seconds():
        return False
    store = current_services().store
    return generation == store.session_generation() and not store.session_revoked(sid)


def secure_headers(response: Response) -> Response:
    """``after_request`` of every admin blueprint."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    if request.is_secure:  # https, or X-Forwarded-Proto: https from BRIDGE_PROXY_HOPS proxies
        # https://www.rfc-editor.org/rfc/rfc6797: browsers then refuse plain HTTP for a year.
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def wants_json() -> bool:
    return g.get("admin_via") == "bearer" or request.accept_mimetypes.best == "application/json"


def disabled() -> tuple[str | Response, int]:
    message = "the delivery log is disabled: set BRIDGE_ADMIN_TOKEN to enable it"
    if "Authorization" in request.headers or request.accept_mimetypes.best == "application/json":
        return jsonify(error=message), 404
    return render_template("disabled.html"), 404


def unauthorized(reason: str) -> tuple[str | Response, int]:
    if "Authorization" in request.headers or request.accept_mimetypes.best == "application/json":
        response = jsonify(error=f"unauthorized: {reason}")
        response.headers["WWW-Authenticate"] = 'Bearer realm="bridge"'
        return response, 401
    return render_template("message.html", title="Log in", message=(
        "You are not logged in (or your session expired). Log in again and retry."
    )), 401  # fmt: skip


def bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _same_origin_with_csrf() -> bool:
    origin = request.headers.get("Origin")
    # The host as the browser saw it: a reverse proxy may rewrite Host and pass the original
    # as X-Forwarded-Host (a cross-site form cannot set either).
    hosts = {request.host, request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()}
    if origin is not None and urlsplit(origin).netloc not in hosts:
        return False
    expected = session.get("csrf")
    given = request.form.get("csrf_token", "")
    return isinstance(expected, str) and bool(expected) and tokens_match(given, expected)


# -- login and logout ---------------------------------------------------------------------


@bp.before_request
def _enabled() -> tuple[str | Response, int] | None:
    return None if current_services().settings.admin_token else disabled()


bp.after_request(secure_headers)


@bp.get("/login")
def login() -> BaseResponse | str:
    target = safe_next(request.args.get("next"))
    if session.get("admin") is True:
        if session_valid():
            return redirect(target)
        session.clear()
    return render_template("login.html", next=target, error=None, plain_http=_plain_http())


@bp.post("/login")
def login_submit() -> BaseResponse | tuple[str, int]:
    token = current_services().settings.admin_token or ""
    target = safe_next(request.form.get("next"))
    if (refused := throttled()) is not None:
        return refused
    if not tokens_match(request.form.get("token", ""), token):
        log.warning("admin login failed from %s", request.remote_addr)
        throttle().failed(client_address(), "admin login")
        page = render_template(
            "login.html", next=target, error="Wrong token.", plain_http=_plain_http()
        )
        return page, 401
    throttle().succeeded(client_address())
    session.clear()
    session.permanent = True
    session["admin"] = True
    session["csrf"] = secrets.token_urlsafe(32)
    session["sid"] = secrets.token_urlsafe(24)
    session["since"] = time.time()
    session["gen"] = current_services().store.session_generation()
    log.info("admin logged in from %s", request.remote_addr)
    return redirect(target)


@bp.post("/logout")
def logout() -> BaseResponse | tuple[str | Response, int]:
    if session.get("admin") is True and not _same_origin_with_csrf():
        return render_template("message.html", title="Refused", message=(
            "This form has expired. Reload the page and try again."
        )), 403  # fmt: skip
    if session.get("admin") is True and session_valid():
        store = current_services().store
        if request.form.get("everywhere"):
            store.end_all_sessions()
            log.warning("admin logged out everywhere from %s", request.remote_addr)
        else:
            now = time.time()
            forget = now - SESSION_MAX_AGE.total_seconds()
            store.revoke_session(str(session["sid"]), now=now, forget_before=forget)
            log.info("admin logged out from %s", request.remote_addr)
    session.clear()
    return redirect(url_for("auth.login"))


def _plain_http() -> bool:
    """The page came over plain HTTP from a non-local host: the browser will drop the Secure
    session cookie, so the login page says to use HTTPS."""
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
    host = request.host.rsplit(":", 1)[0].strip("[]")
    return scheme == "http" and host not in {"localhost", "127.0.0.1", "::1"}
