"""The delivery log and the payload tester, as an operator sees them: what the pages show,
filters, pages, the detail page, replay really re-queuing, escaping, and no secret anywhere.
Real requests through the Flask test client; events arrive through the webhook endpoint."""

from __future__ import annotations

import html
import json
import re

import markupsafe
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from bridge.providers import PROVIDERS
from bridge.store import Details
from tests.fakes.github import FakeGitHub
from tests.support.app import bridge
from tests.support.auth import TOKEN, log_in
from tests.support.providers import provider_like
from tests.support.samples import ASC_OLD_SECRET, ASC_SECRET, PGYER_TOKEN, sample, signed

BUILD = sample("appstoreconnect/build-upload-complete.json")
BUILD_ID = "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d"
READY = sample("appstoreconnect/app-version-ready-for-distribution.json")
REJECTED = sample("appstoreconnect/app-version-rejected.json")
PING = sample("appstoreconnect/ping.json")
PGYER = sample("pgyer/update-version.json")
GITHUB_TOKEN = "ghp_page_test_token_must_not_show"


class Operator:
    """A logged-in browser session on an app that receives real webhooks."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.csrf = log_in(self.client)

    def receive(self, body: bytes, source: str = "ios") -> None:
        if source == "ios":
            response = self.client.post("/webhooks/ios", data=body, headers=signed(body))
        else:
            response = self.client.post(f"/webhooks/{source}?token={PGYER_TOKEN}", data=body)
        assert response.status_code == 202, response.text

    def dispatch(self) -> None:
        while bridge(self.app).dispatcher.run_once():
            pass

    def page(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, response.text[:500]
        return response.text

    def post(self, path: str, **form: str) -> FlaskClient:
        response = self.client.post(path, data={"csrf_token": self.csrf, **form})
        assert response.status_code == 302, response.text[:500]
        return self.client


@pytest.fixture
def operator(admin_app: Flask) -> Operator:
    return Operator(admin_app)


def esc(text: str) -> str:
    """``text`` as the autoescaping templates write it."""
    return str(markupsafe.escape(text))


def event_ids(page: str) -> list[str]:
    return re.findall(r'<code class="id" title="event id">([^<]+)</code>', page)


def test_the_log_shows_events_newest_first_with_their_deliveries(operator: Operator) -> None:
    operator.receive(BUILD)
    operator.receive(REJECTED)
    operator.receive(PING)
    operator.dispatch()
    page = operator.page("/deliveries")
    assert event_ids(page) == [
        "65726e27-cb79-47f2-a3e4-c8ced9f356e8",  # ping
        "5e81b875-0000-4000-8000-000000000007",  # rejected
        BUILD_ID,
    ]
    assert "No route matched" in page  # the ping
    assert "PROCESSING → COMPLETE" in page
    assert '<span class="badge dry_run">dry run</span>' in page
    assert '<span class="route">build-complete</span>' in page
    assert '<span class="badge failed">failed</span>' in page
    assert esc("client_payload.missing: UndefinedError") in page
    assert "1 attempt" in page
    for record in bridge(operator.app).store.recent_events(limit=5):
        for delivery in record.deliveries:
            assert delivery.id in page  # the correlation id
    assert "<strong>1</strong> failed" in page
    assert "Replay all failed" in page
    assert "dry run: nothing is sent to GitHub" in page


def test_an_empty_log_says_how_to_start(operator: Operator) -> None:
    page = operator.page("/deliveries")
    assert "No events yet" in page
    assert "/webhooks/&lt;source&gt;" in page
    assert "Replay all failed" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("source=beta", ["pgyer"]),
        ("source=ios", ["rejected", "build"]),
        ("type=buildUploadStateUpdated", ["build"]),
        ("state=failed", ["rejected"]),
        ("state=dry_run", ["pgyer", "build"]),
        ("state=pending", []),
        ("state=nonsense", ["pgyer", "rejected", "build"]),  # ignored, not an error
        (f"q={BUILD_ID[:8].upper()}", ["build"]),
        ("q=%25", []),
        ("source=ios&state=dry_run", ["build"]),
    ],
)
def test_filters(operator: Operator, query: str, expected: list[str]) -> None:
    operator.receive(BUILD)
    operator.receive(REJECTED)
    operator.receive(PGYER, source="beta")
    operator.dispatch()
    names = {
        BUILD_ID: "build",
        "5e81b875-0000-4000-8000-000000000007": "rejected",
    }
    found = [names.get(i, "pgyer") for i in event_ids(operator.page(f"/deliveries?{query}"))]
    assert found == expected


def test_search_finds_an_event_by_its_delivery_id(operator: Operator) -> None:
    operator.receive(BUILD)
    operator.receive(READY)
    [delivery] = bridge(operator.app).store.events_by_id(BUILD_ID)[0].deliveries
    assert event_ids(operator.page(f"/deliveries?q={delivery.id}")) == [BUILD_ID]


def test_pages_of_fifty_newest_first(operator: Operator) -> None:
    for n in range(61):
        body = json.dumps({"data": {"type": "webhookPingCreated", "id": f"ping-{n:03d}"}})
        operator.receive(body.encode())
    first = operator.page("/deliveries?source=ios")
    assert len(event_ids(first)) == 50
    assert event_ids(first)[0] == "ping-060"
    older = re.search(r'href="(/deliveries\?[^"]*before=\d+[^"]*)">Older', first)
    assert older is not None
    second = operator.page(html.unescape(older.group(1)))
    assert event_ids(second) == [f"ping-{n:03d}" for n in range(10, -1, -1)]
    assert "Older" not in second
    assert "source=ios" in html.unescape(older.group(1))  # filters survive paging
    assert "« Newest" in second


def test_event_detail_shows_payload_request_and_every_attempt(
    environ: dict[str, str], fake_github: FakeGitHub
) -> None:
    env = {
        **environ, "BRIDGE_ADMIN_TOKEN": TOKEN, "BRIDGE_DRY_RUN": "0",
        "GITHUB_TOKEN": GITHUB_TOKEN, "GITHUB_API_URL": fake_github.url,
        "BRIDGE_GITHUB_TIMEOUT": "2s",
    }  # fmt: skip
    operator = Operator(create_app(environ=env))
    fake_github.enqueue(502, match="dispatches$")
    operator.receive(BUILD)
    operator.dispatch()  # 502: retried later
    [delivery] = bridge(operator.app).store.events_by_id(BUILD_ID)[0].deliveries
    assert "Retry now" in operator.page(f"/events/ios/{BUILD_ID}")  # no need to wait for it
    assert operator.post(f"/deliveries/{delivery.id}/replay", next="/deliveries")
    operator.dispatch()  # now 204
    page = operator.page(f"/events/ios/{BUILD_ID}")
    assert "buildUploads" in page and "1f2c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f" in page
    assert "Request sent" in page and "POST /repos/acme/ios/dispatches" in page
    assert esc('"event_type": "asc-build-complete"') in page
    rows = re.findall(r"<tr>\s*<td[^>]*>(\d)</td>.*?</tr>", page, re.S)
    assert rows == ["1", "2"]
    assert "502" in page and "204" in page
    assert esc('"oldState": "PROCESSING"') in page  # the payload, pretty
    assert GITHUB_TOKEN not in page
    bridge(operator.app).store.close()


def test_a_delivery_not_yet_attempted_shows_what_it_will_send(operator: Operator) -> None:
    operator.receive(READY)
    page = operator.page("/events/ios/5e81b875-0000-4000-8000-000000000006")
    assert page.count("Request it will send") == 2
    assert "/repos/acme/ios/actions/workflows/release.yml/dispatches" in page
    assert "Not attempted yet" in page


def test_event_page_shows_app_store_connect_details_review_times_and_why_not(
    operator: Operator,
) -> None:
    store = bridge(operator.app).store
    for name in ("waiting-for-review", "in-review", "pending-developer-release"):
        operator.receive(sample(f"appstoreconnect/app-version-{name}.json"))
    approved = "5e81b875-0000-4000-8000-000000000005"
    version = json.loads(sample("appstoreconnect/api-appStoreVersions.json"))
    found = {"type": "appStoreVersions", "id": "v", "attributes": version["data"]["attributes"]}
    store.save_details("ios", approved, Details(data={**found, "build": {"version": "42"}}))
    page = operator.page(f"/events/ios/{approved}")
    assert "waited 18h 24m · in review 28m 29s · total 18h 52m → PENDING_DEVELOPER_RELEASE" in page
    assert "App Store Connect details" in page
    assert esc('"version": "1.101.0"') in page and esc('"build_number": "42"') in page
    operator.receive(READY)
    live = "5e81b875-0000-4000-8000-000000000006"
    store.save_details("ios", live, Details(error="GET /v1/appStoreVersions/v: 404 NOT_FOUND"))
    page = operator.page(f"/events/ios/{live}")
    assert "not fetched: GET /v1/appStoreVersions/v: 404 NOT_FOUND" in page


def test_an_unknown_event_is_a_404_page(operator: Operator) -> None:
    assert "No event" in operator.page("/events/ios/nope", status=404)


def test_replay_one_failed_delivery_really_requeues_it(operator: Operator) -> None:
    operator.receive(REJECTED)
    operator.receive(BUILD)
    operator.dispatch()
    store = bridge(operator.app).store
    [failed] = store.events_by_id("5e81b875-0000-4000-8000-000000000007")[0].deliveries
    client = operator.post(f"/deliveries/{failed.id}/replay", next="/deliveries?state=failed")
    assert "queued again" in client.get("/deliveries?state=failed").text
    [pending] = store.events_by_id("5e81b875-0000-4000-8000-000000000007")[0].deliveries
    assert (pending.state, pending.attempts) == ("pending", 1)
    assert store.events_by_id(BUILD_ID)[0].deliveries[0].state == "dry_run"  # untouched
    assert bridge(operator.app).dispatcher.run_once() == 1  # the dispatcher takes it at once
    [again] = store.events_by_id("5e81b875-0000-4000-8000-000000000007")[0].deliveries
    assert (again.state, again.attempts) == ("failed", 2)


def test_replay_all_failed(operator: Operator) -> None:
    operator.receive(REJECTED)
    body = REJECTED.replace(b"000000000007", b"000000000099")
    operator.receive(body)
    operator.dispatch()
    client = operator.post("/deliveries/replay-failed", next="/deliveries")
    assert "2 failed deliveries queued again" in client.get("/deliveries").text
    stats = bridge(operator.app).store.outbox_stats()
    assert (stats.pending, stats.by_state.get("failed", 0)) == (2, 0)


def test_payloads_are_escaped_never_markup(operator: Operator) -> None:
    hostile = {
        "data": {
            "type": "<script>alert('type')</script>",
            "id": "<img src=x onerror=alert(1)>",
            "attributes": {"note": "</pre><script>alert('body')</script>"},
        }
    }
    operator.receive(json.dumps(hostile).encode())
    pages = [
        operator.page("/deliveries"),
        operator.page("/events/ios/%3Cimg%20src=x%20onerror=alert(1)%3E"),
    ]
    for page in pages:
        assert "<script>" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page


def test_no_secret_is_ever_rendered(operator: Operator) -> None:
    operator.receive(BUILD)
    operator.receive(PGYER, source="beta")
    operator.dispatch()
    client = operator.client
    pages = [client.get(p).text for p in ("/deliveries", f"/events/ios/{BUILD_ID}", "/login")]
    pages.append(client.post("/test-payload", data={
        "csrf_token": operator.csrf, "source": "beta", "body": PGYER.decode(),
    }).text)  # fmt: skip
    for page in pages:
        for secret in (TOKEN, ASC_SECRET, ASC_OLD_SECRET, PGYER_TOKEN):
            assert secret not in page


# -- the payload tester ---------------------------------------------------------------------


def test_payload_tester_shows_matches_requests_and_why_others_do_not(operator: Operator) -> None:
    form = operator.page("/test-payload?source=ios")
    assert "buildUploadStateUpdated" in form  # a starting example for the provider
    response = operator.client.post(
        "/test-payload", data={"csrf_token": operator.csrf, "source": "ios", "body": READY}
    )
    page = response.text
    assert response.status_code == 200
    assert "2 matching routes" in page
    assert "<h3>version-live</h3>" in page and "<h3>version-live-notes</h3>" in page
    assert "/repos/acme/ios/actions/workflows/release.yml/dispatches" in page
    assert "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d" in page  # rendered input
    assert "<strong>build-complete</strong>: event is" in page
    wants = "'INVALID_BINARY' or 'METADATA_REJECTED' or 'REJECTED'"
    reason = esc(f"to is 'READY_FOR_DISTRIBUTION', the route wants {wants}")
    assert f"<strong>rejected</strong>: {reason}" in page
    assert bridge(operator.app).store.recent_events(limit=1) == []  # nothing stored


@pytest.mark.parametrize(("source", "route"), [("ios", "build-complete"), ("beta", "new-build")])
def test_payload_tester_starts_from_the_example_of_the_source_provider(
    operator: Operator, source: str, route: str
) -> None:
    provider = PROVIDERS[bridge(operator.app).routes.sources[source].provider]
    form = operator.page(f"/test-payload?source={source}")
    example = json.dumps(provider.EXAMPLE, indent=2)
    assert f">{esc(example)}</textarea>" in form
    response = operator.client.post(
        "/test-payload", data={"csrf_token": operator.csrf, "source": source, "body": example}
    )
    assert response.status_code == 200
    assert "1 matching route" in response.text
    assert f"<h3>{route}</h3>" in response.text


def test_payload_tester_reads_the_example_from_the_provider(
    operator: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = {"type": "updateVersion", "title": "registered in this test"}
    monkeypatch.setitem(PROVIDERS, "pgyer", provider_like("pgyer", EXAMPLE=example))
    form = operator.page("/test-payload?source=beta")
    assert esc(json.dumps(example, indent=2)) in form


def test_payload_tester_reports_a_bad_body_and_render_errors(operator: Operator) -> None:
    bad = operator.client.post(
        "/test-payload", data={"csrf_token": operator.csrf, "source": "ios", "body": "[1, 2"}
    )
    assert bad.status_code == 422
    assert "not valid JSON" in bad.text
    assert "[1, 2" in bad.text  # the body is kept for fixing
    rejected = operator.client.post(
        "/test-payload", data={"csrf_token": operator.csrf, "source": "ios", "body": REJECTED}
    )
    assert "not_there" in rejected.text


def test_payload_tester_posts_need_the_csrf_token(operator: Operator) -> None:
    response = operator.client.post("/test-payload", data={"source": "ios", "body": READY})
    assert response.status_code == 403
