"""Following the runs bridge started to their end: a GitHub ``workflow_run`` webhook, once
stored like any event, is matched to the delivery that started the run, and how the run ends
is kept on that delivery (docs/architecture.md, "Following runs to the end").

:func:`run_failed` is the one place a run that ended in failure, cancellation or a timeout
becomes known: stored on the delivery (by :func:`follow`), logged at WARNING, counted; alerts
for such runs hang off it.
"""

from __future__ import annotations

import logging

from bridge.events import Event
from bridge.metrics import Metrics
from bridge.notify.alerts import Alerter, FailedDelivery, alert_failed
from bridge.providers import github
from bridge.providers.jsonbody import text_field
from bridge.store import RunReport, RunTracking, RunUpdate

log = logging.getLogger(__name__)


def run_report(event: Event) -> RunReport | None:
    """What a GitHub ``workflow_run`` event says about its run; None for any other event."""
    if event.provider != github.NAME or event.type != github.WORKFLOW_RUN:
        return None
    run = event.payload.get(github.WORKFLOW_RUN)
    if event.instance is None or not isinstance(run, dict):
        return None
    attempt = run.get("run_attempt")
    mark = github.DELIVERY_MARK.search(text_field(run, "display_title") or "")
    return RunReport(
        run_id=int(event.instance.id),
        attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else 1,
        status=text_field(run, "status") or "requested",
        conclusion=text_field(run, "conclusion"),
        url=text_field(run, "html_url"),
        repository=text_field(event.payload.get("repository"), "full_name"),
        delivery_id=mark.group(1) if mark else None,
        workflow=text_field(run, "name"),
    )


def follow(
    store: RunTracking,
    event: Event,
    *,
    now: float,
    metrics: Metrics | None = None,
    alerter: Alerter | None = None,
) -> RunUpdate | None:
    """Keep what ``event`` (a ``workflow_run`` webhook; any other event is ignored) says on the
    delivery that started the run. Idempotent: a redelivered or late report changes nothing.
    Returns the delivery found, or None. Raises StoreUnavailableError."""
    report = run_report(event)
    if report is None:
        return None
    update = store.record_run(report, now=now)
    extra = {"source": event.source, "event_id": event.id, "run_id": report.run_id}
    if update is None:
        log.info("workflow run %d matches no delivery of bridge", report.run_id, extra=extra)
        return None
    if not update.changed:
        return update
    if report.status == "completed" and metrics is not None:
        metrics.observe_run(report.conclusion or "unknown")
    if report.failed:
        run_failed(update, report, alerter)
    else:
        extra |= {"delivery_id": update.delivery_id, "route": update.route}
        outcome = report.conclusion or report.status
        log.info("workflow run %d of %s: %s", report.run_id, update.route, outcome, extra=extra)
    return update


def run_failed(update: RunUpdate, report: RunReport, alerter: Alerter | None = None) -> None:
    """A run bridge started ended in ``failure``, ``cancelled`` or ``timed_out``: by now it is
    stored on the delivery (the delivery log and ``bridge events`` show it) and counted
    (``bridge_workflow_runs_completed{conclusion}``); this logs it at WARNING and posts it to
    ``alerts.failed`` like a failed delivery. Called once per run attempt that ends so."""
    log.warning(
        "workflow run %d (attempt %d) of route %s ended %s: %s",
        report.run_id,
        report.attempt,
        update.route,
        report.conclusion,
        report.url or "(no URL)",
        extra={
            "source": update.source,
            "event_id": update.event_id,
            "delivery_id": update.delivery_id,
            "route": update.route,
            "run_id": report.run_id,
        },
    )
    if alerter is not None:
        failed = FailedDelivery(
            update.route,
            update.source,
            update.event_id,
            update.event_type,
            f"the workflow run (attempt {report.attempt}) ended {report.conclusion}",
            delivery_id=update.delivery_id,
            what=f"Workflow run {report.conclusion}",
            url=report.url,
        )
        alert_failed(alerter, failed)
