# ruff: noqa: E501  (the mocks' CSS and HTML read best one rule per line)
"""Render docs/images/message-{slack,feishu,dingtalk}.png: what bridge's default messages look
like, as HTML mocks of each service's message layout filled with the exact request bodies
bridge builds, screenshot in headless Chromium. Mocks, labelled as such: not screenshots of
the services themselves.

Usage: ``.venv/bin/python tools/render_message_mocks.py`` (needs ``chromium`` on PATH).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.delivery.context import DeliveryContext  # noqa: E402
from bridge.notify.render import build_notify  # noqa: E402
from bridge.providers import PROVIDERS  # noqa: E402
from bridge.routing.model import Notify, Route, RoutesConfig, Target  # noqa: E402

SAMPLES = ROOT / "tests" / "samples"
OUT = ROOT / "docs" / "images"
HEIGHTS = {"slack": 340, "feishu": 380, "dingtalk": 280}
LOG = "https://bridge.example.com/events/ios-app/5e81b875-0000-4000-8000-000000000007"

STYLE = """
body { margin: 0; padding: 24px; font: 15px/1.46 -apple-system, "Segoe UI", "PingFang SC",
       "Noto Sans CJK SC", Lato, sans-serif; background: #f4f5f7; width: 640px; }
.label { font-size: 12px; color: #8a8f98; margin-bottom: 10px; letter-spacing: .02em; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #2eb67d; color: #fff;
          font-weight: 700; display: flex; align-items: center; justify-content: center; }
.row { display: flex; gap: 10px; }
a { color: #1264a3; text-decoration: none; }
"""


def event(sample: str, source: str) -> Any:
    provider = "pgyer" if sample.startswith("pgyer") else "appstoreconnect"
    return PROVIDERS[provider].parse((SAMPLES / sample).read_bytes(), source=source)


def request(kind: str, sample: str, source: str, context: DeliveryContext) -> dict[str, Any]:
    target = Target("room", kind, url="https://example.invalid/hook")
    route = Route("r", None, None, None, None, (), Notify(("room",)))
    routes = RoutesConfig("routes.yaml", {}, (route,), targets={"room": target})
    built = build_notify(
        routes, "r/room", event(sample, source), delivery_id="d", context=context, log_url=LOG
    )
    body: dict[str, Any] = built.body
    return body


def mrkdwn(text: str) -> str:
    text = html.escape(text, quote=False).replace("&amp;lt;", "&lt;").replace("&amp;gt;", "&gt;")
    text = re.sub(r"&lt;(https?://[^|]+)\|([^&]+)&gt;", r'<a href="\1">\2</a>', text)
    text = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", text)
    text = text.replace(":x:", "❌").replace(":white_check_mark:", "✅")
    return text.replace("\n", "<br>")


def markdown(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"^### (.*)$", r"<h3>\1</h3>", out, flags=re.M)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', out)
    out = re.sub(
        r'&lt;font color="(\w+)"&gt;(.*?)&lt;/font&gt;', r'<span class="\1">\2</span>', out
    )
    return out.replace("\n\n", "<br>").replace("\n", "<br>")


def slack_page(body: dict[str, Any]) -> str:
    parts = []
    for block in body["blocks"]:
        if block["type"] == "header":
            parts.append(f'<div class="hdr">{mrkdwn(block["text"]["text"])}</div>')
        elif block["type"] == "section" and "fields" in block:
            cells = "".join(f"<div>{mrkdwn(f['text'])}</div>" for f in block["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        elif block["type"] == "section":
            parts.append(
                f'<div class="sec">{mrkdwn(block["text"]["text"]).replace("&lt;!channel&gt;", "<span class=at>@channel</span>")}</div>'
            )
        elif block["type"] == "context":
            parts.append(f'<div class="ctx">{mrkdwn(block["elements"][0]["text"])}</div>')
    return f"""<style>{STYLE}
.msg {{ background: #fff; padding: 16px 20px; border-radius: 8px; }}
.name {{ font-weight: 900; color: #1d1c1d; }} .app {{ font-size: 10px; background: #e8e8e8; color: #616061;
 padding: 1px 3px; border-radius: 2px; margin-left: 4px; }} .time {{ color: #616061; font-size: 12px; margin-left: 6px; }}
.hdr {{ font-size: 18px; font-weight: 900; margin: 6px 0 4px; }} .sec {{ margin: 6px 0; }}
.fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin: 8px 0; }}
.ctx {{ font-size: 12px; color: #616061; margin-top: 8px; }} .at {{ background: #fff3c4; color: #1264a3; padding: 0 2px; border-radius: 3px; }}
</style><div class="label">MOCK of a Slack message (bridge's default message, as bridge builds it)</div>
<div class="msg row"><div class="avatar">b</div><div><div><span class="name">bridge</span><span class="app">APP</span>
<span class="time">10:42 AM</span></div>{"".join(parts)}</div></div>"""


def feishu_page(body: dict[str, Any]) -> str:
    card = body["card"]
    colors = {"red": "#f54a45", "green": "#34c724", "blue": "#3370ff"}
    elements = []
    for element in card["elements"]:
        if element["tag"] == "div":
            elements.append(f'<div class="div">{markdown(element["text"]["content"])}</div>')
        else:
            buttons = "".join(
                f'<span class="btn {b["type"]}">{html.escape(b["text"]["content"])}</span>'
                for b in element["actions"]
            )
            elements.append(f'<div class="actions">{buttons}</div>')
    return f"""<style>{STYLE}
.card {{ background: #fff; border-radius: 8px; overflow: hidden; width: 460px; box-shadow: 0 1px 3px rgba(31,35,41,.12); }}
.head {{ background: {colors[card["header"]["template"]]}; color: #fff; font-weight: 600; padding: 12px 16px; font-size: 16px; }}
.div {{ padding: 8px 16px; color: #1f2329; font-size: 14px; }} .actions {{ padding: 8px 16px 16px; display: flex; gap: 8px; }}
.btn {{ border: 1px solid #d0d3d6; border-radius: 6px; padding: 5px 12px; font-size: 14px; }}
.btn.primary {{ background: #3370ff; border-color: #3370ff; color: #fff; }}
.avatar {{ background: #3370ff; }} .name {{ font-size: 12px; color: #646a73; margin-bottom: 4px; }}
</style><div class="label">MOCK of a Feishu / Lark interactive card (bridge's default message, as bridge builds it)</div>
<div class="row"><div class="avatar">b</div><div><div class="name">bridge 机器人</div><div class="card">
<div class="head">{html.escape(card["header"]["title"]["content"])}</div>{"".join(elements)}</div></div></div>"""


def dingtalk_page(body: dict[str, Any]) -> str:
    text = markdown(body["markdown"]["text"])
    return f"""<style>{STYLE}
.bubble {{ background: #fff; border-radius: 8px; padding: 12px 16px; width: 440px; color: #171a1d; font-size: 14px; }}
.bubble h3 {{ font-size: 16px; margin: 0 0 6px; }} .avatar {{ background: #0089ff; }}
.name {{ font-size: 12px; color: #747677; margin-bottom: 4px; }} a {{ color: #0089ff; }}
</style><div class="label">MOCK of a DingTalk robot markdown message (bridge's default message, as bridge builds it)</div>
<div class="row"><div class="avatar">b</div><div><div class="name">bridge 机器人</div><div class="bubble">{text}</div></div></div>"""


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    version = json.loads((SAMPLES / "appstoreconnect/api-appStoreVersions.json").read_text())[
        "data"
    ]
    version["attributes"]["versionString"] = "1.4.0"
    rejected = DeliveryContext(
        enriched=True,
        details={**version, "build": {"version": "42"}},
        review={"wait_seconds": 66240, "review_seconds": 1680, "total_seconds": 67920},
    )
    failed = json.loads((SAMPLES / "appstoreconnect/api-buildUploads-failed.json").read_text())[
        "data"
    ]
    pages = {
        "slack": slack_page(
            request("slack", "appstoreconnect/app-version-rejected.json", "ios-app", rejected)
        ),
        "feishu": feishu_page(
            request(
                "feishu",
                "appstoreconnect/build-upload-failed.json",
                "ios-app",
                DeliveryContext(True, failed),
            )
        ),
        "dingtalk": dingtalk_page(
            request("dingtalk", "pgyer/update-version.json", "android-beta", DeliveryContext())
        ),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, page in pages.items():
            source = Path(tmp) / f"{name}.html"
            source.write_text(f"<!doctype html><meta charset=utf-8>{page}")
            subprocess.run(  # noqa: S603  (our own arguments: a local file, a local chromium)
                [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 f"--user-data-dir={tmp}/profile", "--hide-scrollbars", f"--window-size=700,{HEIGHTS[name]}",
                 f"--screenshot={OUT / f'message-{name}.png'}", source.as_uri()],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            print(OUT / f"message-{name}.png")


if __name__ == "__main__":
    main()
