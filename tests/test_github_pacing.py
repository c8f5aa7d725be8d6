"""Pacing GitHub dispatches below GitHub's secondary limits (bridge.github_limits), fresh
deliveries first: against a fake GitHub that enforces those limits over real HTTP, with two
dispatchers sharing one store (SQLite and PostgreSQL), on a simulated clock."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from bridge.appstoreconnect.enrichment import Enricher
from bridge.config import Settings
from bridge.delivery.context import ContextBuilder
from bridge.delivery.dispatcher import Dispatcher
from bridge.delivery.github import GitHubClient
from bridge.errors import ConfigError
from bridge.events import Event, Instance
from bridge.github_limits import Budget, Limits, Pacing, Usage, budget
from bridge.metrics import Metrics
from bridge.routing.load import load_routes
from bridge.store import Store, open_store
from tests.fakes.github import FakeGitHub
from tests.support.clock import Clock
from tests.support.metrics import parse, value

ROUTES = """\
sources:
  ios: {provider: appstoreconnect, secret: s3cret}
routes:
  - name: build-complete
    event: buildUploadStateUpdated
    dispatch: {repository: acme/ios, event_type: asc-build-complete}
"""
ROUTE = "build-complete"
START = 1_800_000_000.0


def build_event(n: int, *, instance: str | None = None) -> Event:
    return Event(
        "ios", "appstoreconnect", "buildUploadStateUpdated", f"evt-{n}", "PROCESSING",
        "COMPLETE", Instance("buildUploads", instance or f"upload-{n}"), None, {"n": n},
    )  # fmt: skip


class Pair:
    """Two dispatchers (two processes, as the database sees them) sharing one store, a
    personal access token, and a clock the test moves (the fake GitHub reads it too)."""

    def __init__(
        self,
        store_url: str,
        tmp_path: Path,
        github: FakeGitHub,
        *,
        metrics: Metrics | None = None,
        **settings: object,
    ) -> None:
        path = tmp_path / "routes.yaml"
        path.write_text(ROUTES)
        self.routes = load_routes(str(path), {})
        self.clock = Clock(START)
        github.clock = self.clock
        self.settings = Settings.from_env({}).with_overrides(
            {"poll_interval": 30.0, "github_token": "ghp_paced", **settings}
        )
        self.stores: list[Store] = []
        self.clients: list[GitHubClient] = []
        self.dispatchers: list[Dispatcher] = []
        for _ in range(2):
            store = open_store(store_url, pool_size=4)
            client = GitHubClient(api_url=github.url, token="ghp_paced", timeout=5.0)
            contexts = ContextBuilder(
                facts=store, routes=self.routes, enricher=Enricher(None, store)
            )
            self.stores.append(store)
            self.clients.append(client)
            self.dispatchers.append(
                Dispatcher(
                    store=store,
                    routes=self.routes,
                    sender=client,
                    settings=self.settings,
                    contexts=contexts,
                    clock=self.clock,
                    metrics=metrics,
                )
            )

    @property
    def store(self) -> Store:
        return self.stores[0]

    def receive(self, event: Event) -> None:
        self.store.record_event(event, b"{}", [ROUTE], now=self.clock.now)

    def step(self) -> int:
        """Both dispatchers claim once; returns how many deliveries they attempted."""
        return sum(d.run_once() for d in self.dispatchers)

    def next_wake(self) -> float:
        """When an idle dispatcher looks again (the dispatcher's own rule)."""
        dispatcher = self.dispatchers[0]
        due = self.store.next_due_at(now=self.clock.now, pacing=dispatcher.pacing)
        wait = self.settings.poll_interval if due is None else max(due - self.clock.now, 0.01)
        return self.clock.now + min(wait, self.settings.poll_interval)

    def close(self) -> None:
        for dispatcher, client, store in zip(
            self.dispatchers, self.clients, self.stores, strict=False
        ):
            dispatcher.stop()
            client.close()
            store.close()


@pytest.fixture
def limited_github(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.secondary_limits = (80, 500)  # github.com's documented limits
    return fake_github


@pytest.fixture
def pair(store_url: str, tmp_path: Path, limited_github: FakeGitHub) -> Iterator[Pair]:
    p = Pair(store_url, tmp_path, limited_github)
    yield p
    p.close()


def most_in_any_window(times: list[float], span: float) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - span:
            start += 1
        most = max(most, end - start + 1)
    return most


def drain(pair: Pair, seconds: float, *, fresh_every: float | None = None) -> dict[str, float]:
    """Run both dispatchers as their loops would for ``seconds`` of simulated time, receiving
    a fresh event every ``fresh_every`` seconds; returns each fresh event's id → the time
    it was received."""
    end = pair.clock.now + seconds
    fresh: dict[str, float] = {}
    next_fresh = pair.clock.now if fresh_every else end
    n = 100_000
    while pair.clock.now < end:
        if pair.clock.now >= next_fresh:
            n += 1
            pair.receive(build_event(n))
            fresh[f"evt-{n}"] = pair.clock.now
            next_fresh += fresh_every or seconds
        if pair.step() == 0:
            pair.clock.now = min(pair.next_wake(), next_fresh, end)
    return fresh


def test_a_drain_meets_no_refusal_and_fresh_events_go_out_at_once(
    pair: Pair, limited_github: FakeGitHub
) -> None:
    for n in range(600):  # an outage's backlog, over 600 build uploads
        pair.receive(build_event(n))
        pair.clock.now += 0.01
    pair.clock.now += 120  # the outage ends two minutes later
    fresh = drain(pair, 2 * 3600, fresh_every=40)

    assert limited_github.refusals() == []
    [times] = limited_github.accepted_at().values()  # one credential: the token
    assert most_in_any_window(times, 60) <= 72  # BRIDGE_GITHUB_PER_MINUTE
    assert most_in_any_window(times, 3600) <= 450  # BRIDGE_GITHUB_PER_HOUR
    sent = [r.json["client_payload"]["event_id"] for r in limited_github.dispatches()]
    arrived = dict(zip(sent, times, strict=True))
    # Every fresh event was sent the moment it arrived (simulated time) while the backlog
    # waited. The backlog went oldest first, spread over the hour while fresh events flowed
    # (one every 3600 / 337 s), only while the sliding hour held fewer than 337 sends (75 %
    # of 450, fresh ones included), and went on once the first sends left the hour.
    assert len(fresh) == 180
    assert all(arrived[event_id] == at for event_id, at in fresh.items())
    backlog = [e for e in sent if e not in fresh]
    assert backlog == [f"evt-{n}" for n in range(len(backlog))]
    at = [arrived[e] for e in backlog]
    assert min(b - a for a, b in itertools.pairwise(at)) >= 3600 / 337 - 1e-6
    first_hour = [t for t in at if t < START + 120 + 3600]
    assert 200 < len(first_hour) <= 337 < len(backlog) < 600


def test_pacing_set_above_githubs_limits_meets_refusals(
    store_url: str, tmp_path: Path, limited_github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    """The fake enforces the limits: the same drain paced at 200 a minute is refused."""
    with caplog.at_level(logging.WARNING):
        pair = Pair(store_url, tmp_path, limited_github, github_per_minute=200)
    try:
        assert "above GitHub's documented 80 a minute" in caplog.text
        for n in range(300):
            pair.receive(build_event(n))
        for _ in range(100):  # fresh: the whole per-minute budget may go at once
            pair.step()
        assert limited_github.refusals()
        refused = [
            d
            for e in pair.store.recent_events(limit=300)
            for d in e.deliveries
            if d.last_status == 403
        ]
        assert refused
        assert all("secondary rate limit" in (d.last_error or "") for d in refused)
    finally:
        pair.close()


def test_two_dispatchers_claiming_at_once_share_one_budget(pair: Pair) -> None:
    """Claims racing from several threads and two stores (two processes) reserve no more
    than the credential's budget."""
    for n in range(200):
        pair.receive(build_event(n))
    pacing = pair.dispatchers[0].pacing
    claimed: list[int] = []
    lock = threading.Lock()

    def claim(store: Store, owner: str) -> None:
        for _ in range(10):
            got = store.claim_due(owner=owner, now=pair.clock.now, lease=60, limit=4, pacing=pacing)
            with lock:
                claimed.append(len(got))

    threads = [
        threading.Thread(target=claim, args=(store, f"w{i}-{t}"))
        for i, store in enumerate(pair.stores)
        for t in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(claimed) == 72  # fresh: the whole minute, once


def test_a_fresh_event_waits_for_its_instances_older_delivery_which_goes_first(
    pair: Pair, limited_github: FakeGitHub
) -> None:
    for n in range(50):
        pair.receive(build_event(n))
    pair.clock.now += 300  # all backlog now
    assert pair.step() == 1  # the backlog: one claim at a time, spaced
    pair.clock.now += 0.5
    assert pair.step() == 0  # spaced: the next backlog send is 60 / 54 s after the last
    pair.receive(build_event(1000, instance="upload-7"))  # about an upload with one pending
    first = pair.dispatchers[0]
    assert first.run_once() == 1  # upload-7's older delivery goes first, on the fresh budget
    assert first.run_once() == 1  # then the fresh event
    sent = [r.json["client_payload"]["event_id"] for r in limited_github.dispatches()]
    assert sent == ["evt-0", "evt-7", "evt-1000"]


def test_a_credential_out_of_budget_does_not_spin_the_dispatcher(
    store_url: str, tmp_path: Path, limited_github: FakeGitHub
) -> None:
    pair = Pair(store_url, tmp_path, limited_github, github_per_minute=4, github_per_hour=8)
    pacing = pair.dispatchers[0].pacing
    try:
        for n in range(20):
            pair.receive(build_event(n))
        assert pair.step() == 4  # fresh: the minute's budget
        assert pair.step() == 0
        # Deliveries are due, but nothing may go before the oldest send leaves the minute:
        # the dispatcher sleeps until then (its poll interval at most), it does not spin.
        assert pair.store.next_due_at(now=pair.clock.now, pacing=pacing) == START + 60
        assert pair.next_wake() == START + 30.0
        pair.clock.now += 61  # backlog now: below 3 a minute and 6 an hour, 20 s apart
        assert pair.step() == 1
        assert pair.store.next_due_at(now=pair.clock.now, pacing=pacing) == START + 81
        pair.clock.now += 20
        assert pair.step() == 1  # 6 in the hour: the backlog's share is used
        assert pair.step() == 0
        assert pair.store.next_due_at(now=pair.clock.now, pacing=pacing) == START + 3600
        assert limited_github.refusals() == []
    finally:
        pair.close()


def test_budget_keeps_a_share_of_each_window_for_fresh_deliveries() -> None:
    limits = Limits(per_minute=72, per_hour=450)
    assert (limits.backlog_per_minute, limits.backlog_per_hour) == (54, 337)
    assert limits.spacing == pytest.approx(60 / 54)
    now = 10_000.0
    assert budget(limits, Usage(), now) == budget(limits, Usage(), now)
    opened = budget(limits, Usage(), now)
    assert (opened.fresh, opened.backlog, opened.reopens_at) == (72, 1, None)
    # Three quarters of the minute used (by the backlog or fresh deliveries alike): the
    # backlog waits, fresh deliveries still have the rest.
    used = Usage(minute=54, hour=54, oldest_minute=now - 50, oldest_hour=now - 50)
    left = budget(limits, used, now)
    assert (left.fresh, left.backlog, left.reopens_at) == (18, 0, now + 10)
    # The hour is full: nothing until its oldest send is an hour old.
    full = Usage(minute=3, hour=450, oldest_minute=now - 30, oldest_hour=now - 3000)
    assert budget(limits, full, now) == Budget(0, 0, now + 600)
    # The minute is full: fresh deliveries may go again when its oldest send leaves it, the
    # backlog once the minute holds fewer than 54 again.
    busy = Usage(minute=72, hour=72, oldest_minute=now - 59, oldest_hour=now - 59)
    assert budget(limits, busy, now) == Budget(0, 0, now + 1)
    # Spacing alone holds the backlog back.
    spaced = budget(limits, Usage(minute=1, hour=1, last_backlog=now - 0.5), now)
    assert spaced.backlog == 0
    assert spaced.reopens_at == pytest.approx(now - 0.5 + 60 / 54)


def test_a_pacing_plan_names_credentials_never_tokens(tmp_path: Path) -> None:
    from bridge.delivery.github_pacing import credential_name, pacing_plan

    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    routes = load_routes(str(path), {})
    token = Settings(github_token="ghp_secret_value")
    assert pacing_plan(routes, token, sending=True) == Pacing(
        Limits(72, 450), {"token": ("build-complete",)}
    )
    assert pacing_plan(routes, token, sending=False).credentials == {}  # dry run: not paced
    app = Settings(github_app_id="1", github_app_private_key="k")
    assert credential_name(app, "Acme/ios") == "installation:acme"
    fixed = Settings(github_app_id="1", github_app_private_key="k", github_app_installation_id=7)
    assert credential_name(fixed, "acme/ios") == "installation:7"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BRIDGE_GITHUB_PER_MINUTE", "0"),
        ("BRIDGE_GITHUB_PER_MINUTE", "sixty"),
        ("BRIDGE_GITHUB_PER_HOUR", "-5"),
        ("BRIDGE_GITHUB_PER_HOUR", "4.5"),
    ],
)
def test_pacing_settings_must_be_whole_numbers(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}={value!r} must be a whole number")
    assert "GitHub allows 80 a minute and 500 an hour" in message


def test_pacing_settings_default_below_githubs_limits_and_may_exceed_them() -> None:
    defaults = Settings.from_env({})
    assert (defaults.github_per_minute, defaults.github_per_hour) == (72, 450)
    raised = Settings.from_env(
        {"BRIDGE_GITHUB_PER_MINUTE": "900", "BRIDGE_GITHUB_PER_HOUR": "9000"}
    )
    assert Limits(raised.github_per_minute, raised.github_per_hour).above_github


def test_a_rate_limit_answer_still_pauses_sending_and_is_counted(
    store_url: str, tmp_path: Path, fake_github: FakeGitHub
) -> None:
    """Another tool on the same token can still get it refused: Retry-After is the fallback."""
    metrics = Metrics()
    pair = Pair(store_url, tmp_path, fake_github, metrics=metrics)
    first = pair.dispatchers[0]
    try:
        fake_github.enqueue(
            403,
            headers={"Retry-After": "30"},
            body={"message": "You have exceeded a secondary rate limit."},
        )
        pair.receive(build_event(1))
        assert first.run_once() == 1
        pair.receive(build_event(2))
        pair.clock.now += 29
        assert first.run_once() == 0  # paused for the Retry-After
        pair.clock.now += 2
        assert first.run_once() >= 1
        counted = parse(generate_latest(metrics.counters()).decode())
        assert value(counted, "bridge_github_rate_limited_total") == 1
    finally:
        pair.close()
