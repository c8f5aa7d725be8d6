"""Fake chat services and HTTP endpoints on 127.0.0.1 for tests: real HTTP, no mocks. Each
checks what its vendor checks and answers the way its vendor answers.

    POST /slack/<hook>                     200 "ok"; queued 429 + Retry-After
    POST /teams/<hook>                     202
    POST /discord/<hook>                   204
    POST /wecom/send?key=KEY               200 {"errcode": 0}; wrong key 93000, content over
                                           4096 bytes 40058
    POST /dingtalk/robot/send?access_token=TOKEN[&timestamp=&sign=]
                                           加签 checked exactly as DingTalk documents it:
                                           timestamp in ms within an hour, sign =
                                           urlencode(base64(HMAC-SHA256(secret,
                                           "{timestamp}\\n{secret}"))); 310000 when wrong
    POST /feishu/open-apis/bot/v2/hook/<id>
                                           签名校验 checked as Feishu documents it: body
                                           timestamp (s) within an hour, sign =
                                           base64(HMAC-SHA256(key="{timestamp}\\n{secret}",
                                           msg="")); 19021 when wrong; body over 20 KB: 400
    POST /telegram/bot<token>/sendMessage  {"ok": true}; wrong token 401
    POST /hook/<name>                      any endpoint; with a Standard Webhooks secret the
                                           signature is verified with the reference library

Replies can be queued with :meth:`FakeChat.enqueue` (a 429, an errcode, a slow answer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug import Request, Response

WECOM_KEY = "wecom-key-0123456789"
DINGTALK_TOKEN = "dingtalk-access-token-0123456789"
DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef"
FEISHU_HOOK = "feishu-hook-0123-4567"
FEISHU_SECRET = "feishu-secret-0123456789"
TELEGRAM_TOKEN = "123456:telegram-token-ABCDEF"
HOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK_HOOK = "T000/B000/slack-hook-secret-XXXX"


@dataclass(frozen=True)
class ChatRequest:
    vendor: str  # slack, teams, …, hook
    path: str
    query: str  # raw query string, as received
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Queued:
    vendor: str
    status: int
    body: Any
    headers: Mapping[str, str]
    delay: float


class _Server(HTTPServer):
    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)


class FakeChat:
    """``dingtalk_secret`` / ``feishu_secret`` / ``hook_secret`` None: that vendor's
    signature is not required (as when the bot's security setting is off)."""

    def __init__(self) -> None:
        self.dingtalk_secret: str | None = DINGTALK_SECRET
        self.feishu_secret: str | None = FEISHU_SECRET
        self.hook_secret: str | None = HOOK_SECRET
        self.clock_skew = 0.0  # seconds added to the fake's clock (signature windows)
        self._requests: list[ChatRequest] = []
        self._queue: list[Queued] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = _Server(host="127.0.0.1", port=0, threaded=True)
        self._server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def __enter__(self) -> FakeChat:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()

    def check(self) -> None:
        """Re-raise the first exception a handler raised (a bug in the fake or the test)."""
        self._server.check_handler_errors()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def urls(self) -> dict[str, str]:
        """The environment a routes.yaml of every kind reads (see ``TARGETS_YAML``)."""
        return {
            "SLACK_WEBHOOK_URL": f"{self.base}/slack/{SLACK_HOOK}",
            "TEAMS_WEBHOOK_URL": f"{self.base}/teams/hook-1",
            "DISCORD_WEBHOOK_URL": f"{self.base}/discord/123/discord-token",
            "WECOM_WEBHOOK_URL": f"{self.base}/wecom/send?key={WECOM_KEY}",
            "DINGTALK_WEBHOOK_URL": f"{self.base}/dingtalk/robot/send?access_token={DINGTALK_TOKEN}",
            "DINGTALK_SECRET": DINGTALK_SECRET,
            "FEISHU_WEBHOOK_URL": f"{self.base}/feishu/open-apis/bot/v2/hook/{FEISHU_HOOK}",
            "FEISHU_SECRET": FEISHU_SECRET,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_API_URL": f"{self.base}/telegram",
            "TELEGRAM_CHAT_ID": "-1001234567890",
            "HOOK_URL": f"{self.base}/hook/gitlab",
            "HOOK_SECRET": HOOK_SECRET,
            "GITLAB_TRIGGER_TOKEN": "glptt-0123456789abcdef",
        }

    def enqueue(
        self,
        vendor: str,
        status: int,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        with self._lock:
            self._queue.extend([Queued(vendor, status, body, dict(headers or {}), delay)] * times)

    def requests(self, vendor: str | None = None) -> list[ChatRequest]:
        with self._lock:
            return [r for r in self._requests if vendor is None or r.vendor == vendor]

    def wait_for(self, vendor: str, count: int, timeout: float = 10.0) -> list[ChatRequest]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(found := [r for r in self._requests if r.vendor == vendor]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} {vendor} requests, got {len(found)}")
                self._arrived.wait(left)
            return found

    # -- the vendors ---------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        vendor = request.path.split("/")[1]
        recorded = ChatRequest(
            vendor,
            request.path,
            request.query_string.decode(),
            {k.lower(): v for k, v in request.headers.items()},
            request.get_data(),
        )
        with self._arrived:
            self._requests.append(recorded)
            self._arrived.notify_all()
            queued = next((q for q in self._queue if q.vendor == vendor), None)
            if queued is not None:
                self._queue.remove(queued)
        if queued is not None:
            time.sleep(queued.delay)
            return _reply(queued.status, queued.body, queued.headers)
        check = getattr(self, f"_{vendor}", None)
        if check is None:
            return _reply(404, {"error": "no such vendor"})
        answer: Response = check(recorded)
        return answer

    def _slack(self, r: ChatRequest) -> Response:
        body = r.json
        if not isinstance(body.get("text"), str) and not body.get("blocks"):
            return _reply(400, "invalid_payload")
        for block in body.get("blocks", []):
            text = block.get("text", {}).get("text", "")
            limit = 150 if block["type"] == "header" else 3000
            if len(text) > limit:
                return _reply(400, "invalid_blocks")
        return _reply(200, "ok")

    def _teams(self, r: ChatRequest) -> Response:
        card = r.json["attachments"][0]
        assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
        return _reply(202, "")

    def _discord(self, r: ChatRequest) -> Response:
        embed = r.json["embeds"][0]
        if len(embed.get("description", "")) > 4096 or len(r.json.get("content", "")) > 2000:
            return _reply(400, {"message": "Invalid Form Body", "code": 50035})
        return _reply(204, "")

    def _wecom(self, r: ChatRequest) -> Response:
        if parse_qs(r.query).get("key") != [WECOM_KEY]:
            return _reply(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        body = r.json
        content = body.get(body.get("msgtype"), {}).get("content", "")
        limit = 4096 if body.get("msgtype") == "markdown" else 2048
        if len(content.encode()) > limit:
            return _reply(200, {"errcode": 40058, "errmsg": "content exceed max length"})
        return _reply(200, {"errcode": 0, "errmsg": "ok"})

    def _dingtalk(self, r: ChatRequest) -> Response:
        query = parse_qs(r.query)
        if query.get("access_token") != [DINGTALK_TOKEN]:
            return _reply(200, {"errcode": 300001, "errmsg": "token is not exist"})
        if self.dingtalk_secret is not None:
            # https://open.dingtalk.com/document/robots/customize-robot-security-settings
            timestamp = query.get("timestamp", [""])[0]
            raw_sign = _raw_param(r.query, "sign")
            now_ms = (time.time() + self.clock_skew) * 1000
            if not timestamp.isdigit() or abs(now_ms - int(timestamp)) > 3600 * 1000:
                return _reply(200, {"errcode": 310000, "errmsg": "sign not match, timestamp"})
            string_to_sign = f"{timestamp}\n{self.dingtalk_secret}".encode()
            digest = hmac.new(self.dingtalk_secret.encode(), string_to_sign, hashlib.sha256)
            expected = base64.b64encode(digest.digest()).decode()
            if raw_sign is None or not hmac.compare_digest(unquote_plus(raw_sign), expected):
                return _reply(200, {"errcode": 310000, "errmsg": "sign not match"})
        if r.json.get("msgtype") not in ("text", "markdown", "link", "actionCard", "feedCard"):
            return _reply(200, {"errcode": 40035, "errmsg": "缺少参数 msgtype"})
        return _reply(200, {"errcode": 0, "errmsg": "ok"})

    def _feishu(self, r: ChatRequest) -> Response:
        if not r.path.endswith(f"/hook/{FEISHU_HOOK}"):
            return _reply(
                200, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
            )
        if len(r.body) > 20 * 1024:
            return _reply(400, {"code": 9499, "msg": "request body too large"})
        body = r.json
        if self.feishu_secret is not None:
            # https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot
            timestamp = str(body.get("timestamp", ""))
            now = time.time() + self.clock_skew
            key = f"{timestamp}\n{self.feishu_secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            fresh = timestamp.isdigit() and abs(now - int(timestamp)) <= 3600
            if not fresh or not hmac.compare_digest(str(body.get("sign", "")), expected):
                return _reply(
                    200,
                    {
                        "code": 19021,
                        "msg": "sign match fail or timestamp is not within one hour from current time",
                    },
                )
        if body.get("msg_type") not in ("text", "post", "interactive", "image", "share_chat"):
            return _reply(200, {"code": 19002, "msg": "params error, msg_type need"})
        return _reply(200, {"code": 0, "msg": "success", "data": {}})

    def _telegram(self, r: ChatRequest) -> Response:
        if r.path != f"/telegram/bot{TELEGRAM_TOKEN}/sendMessage":
            return _reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if len(r.json.get("text", "")) > 4096:
            return _reply(
                400, {"ok": False, "error_code": 400, "description": "message is too long"}
            )
        return _reply(200, {"ok": True, "result": {"message_id": 1}})

    def _hook(self, r: ChatRequest) -> Response:
        if self.hook_secret is not None:
            try:
                Webhook(self.hook_secret).verify(r.body, dict(r.headers))
            except WebhookVerificationError as exc:
                return _reply(401, {"message": str(exc)})
        return _reply(201, {"id": 7, "status": "created"})


def _raw_param(query: str, name: str) -> str | None:
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return None


def _reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    if isinstance(body, dict | list):
        return Response(json.dumps(body), status, dict(headers or {}), mimetype="application/json")
    return Response(body or "", status, dict(headers or {}))
