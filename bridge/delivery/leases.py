"""Leases of attempts in flight: kept while an attempt runs, checked right before it sends.

A claim's lease (``BRIDGE_LEASE``) lets another dispatcher take a delivery over when its
holder died. An attempt can legitimately take longer than the lease (App Store Connect
requests, the per-credential queue in front of GitHub), so the dispatcher extends the leases
of its running attempts every third of the lease, and each attempt checks (and extends) its
own lease once more right before sending: an attempt whose lease was taken over sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, wait

from bridge.errors import StoreUnavailableError
from bridge.store import Claim, Outbox

log = logging.getLogger(__name__)


class LeaseLostError(Exception):
    """The claim's lease was taken over (or the delivery replayed) before its attempt sent
    anything."""


def fence(store: Outbox, claim: Claim, *, until: float) -> None:
    """Extend ``claim``'s lease to ``until`` if it still holds it; raise LeaseLostError if it
    does not. Raises StoreUnavailableError (nothing was sent; the delivery is claimed again
    once its lease runs out)."""
    if claim.delivery_id not in store.extend_leases(
        [(claim.delivery_id, claim.lease_owner)], until=until
    ):
        raise LeaseLostError(claim.delivery_id)


def wait_keeping_leases(
    store: Outbox,
    running: Mapping[Future[None], Claim],
    *,
    lease: float,
    clock: Callable[[], float],
) -> None:
    """Wait for every attempt in ``running``, extending the leases of those still running
    every ``lease / 3`` seconds. Re-raises the first exception an attempt raised."""
    pending = dict(running)
    while pending:
        done, _ = wait(pending, timeout=max(lease / 3, 0.05), return_when=FIRST_EXCEPTION)
        for future in done:
            pending.pop(future)
            future.result()
        if pending:
            _extend(store, pending.values(), until=clock() + lease)


def _extend(store: Outbox, claims: Iterable[Claim], *, until: float) -> None:
    claims = list(claims)
    try:
        held = store.extend_leases([(c.delivery_id, c.lease_owner) for c in claims], until=until)
    except StoreUnavailableError as exc:
        log.warning("cannot extend the leases of attempts in flight: %s", exc)
        return
    for claim in claims:
        if claim.delivery_id not in held:
            log.warning(
                "lease taken over while its attempt runs: the attempt will not send",
                extra={"delivery_id": claim.delivery_id, "route": claim.route},
            )
