"""Which due deliveries a claim takes, in which order, and the GitHub sends it reserves.

Order: fresh deliveries first (stored less than ``Pacing.fresh_seconds``
ago), with the earlier pending delivery a fresh one waits for (its route and instance: the
head of its chain) promoted to go first; then the backlog, oldest due first. With a
:class:`~bridge.github_limits.Pacing` plan, a delivery whose route sends with a paced
credential is taken only while that credential has budget (``bridge.github_limits.budget``),
and each one taken is written to ``github_sends`` in the claim's own transaction: every
dispatcher sharing the store counts the same sends (on PostgreSQL, claims that pace take an
advisory lock so two never read the same count; SQLite's ``BEGIN IMMEDIATE`` already
serializes writers). A claimed delivery counts as sent even if it ends up not sent (a render
error, a lease lost): the count errs on the safe side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bridge.github_limits import FRESH_SECONDS, HOUR, MINUTE, Budget, Pacing, Usage, budget
from bridge.store.sql_base import Cursor, Row, SQLStoreBase

CLAIM_COLUMNS = (
    "d.id, d.route, d.attempts, d.queued_at, e.source, e.provider, e.type,"
    " e.event_id, e.old_state, e.new_state, e.instance_type, e.instance_id,"
    " e.timestamp, e.body, e.details, e.details_error, d.created_at"
)
# A pending delivery whose lease (if any) has run out, due now.
DUE = (
    "d.state = 'pending' AND d.next_attempt_at <= ?"
    " AND (d.lease_until IS NULL OR d.lease_until < ?)"
)
# Deliveries of one route about one instance (a version, a build upload) go out in the order
# their events happened: none while an earlier one is pending, waiting for a retry or in
# flight. One that failed for good no longer holds the later ones back.
# CROSS JOIN: SQLite then reads the instance's events first (events_instance), instead of
# walking every pending delivery (deliveries_state_event) for each candidate: O(chain), not
# O(backlog). PostgreSQL plans it as any join.
IN_TURN = (
    "NOT EXISTS (SELECT 1 FROM events e2 CROSS JOIN deliveries d2 WHERE d2.event_pk = e2.pk"
    " AND e2.instance_type = e.instance_type AND e2.instance_id = e.instance_id"
    " AND d2.route = d.route AND d2.state = 'pending'"
    " AND (e2.occurred_at < e.occurred_at OR (e2.occurred_at = e.occurred_at AND e2.pk < e.pk)))"
)
_FRESH = "d.state = 'pending' AND d.created_at >= ?"


@dataclass(slots=True)
class _Allowance:
    """What one credential may still take in this claim."""

    fresh: int
    backlog: int

    def take(self, *, backlog: bool) -> bool:
        if self.fresh < 1 or (backlog and self.backlog < 1):
            return False
        self.fresh -= 1
        if backlog:
            self.backlog -= 1
        return True


class PacedClaimsSQL(SQLStoreBase):
    """The selection behind ``claim_due`` and ``next_due_at`` (``bridge.store.outbox_sql``)."""

    def _claimable(
        self, cur: Cursor, *, now: float, limit: int, pacing: Pacing | None
    ) -> list[tuple[Row, str | None, bool]]:
        """Up to ``limit`` due deliveries in claim order, each with its credential (None:
        not paced) and whether it counts as backlog; their sends are reserved."""
        # Nothing paced (dry run, chat targets only): no count to read, no lock to take.
        budgets = self._budgets(cur, now, pacing) if pacing and pacing.credentials else {}
        allowance = {c: _Allowance(b.fresh, b.backlog) for c, b in budgets.items()}
        fresh_open = [c for c, b in budgets.items() if b.fresh > 0]
        backlog_open = [c for c, b in budgets.items() if b.backlog > 0]
        cutoff = now - (pacing.fresh_seconds if pacing is not None else FRESH_SECONDS)
        fresh_routes = self._routes_clause(pacing, fresh_open)
        backlog_routes = self._routes_clause(pacing, backlog_open)
        lock = self._lock_claimed
        by_created = self._indexed_by.format("deliveries_pending_created")
        # Fresh deliveries, and the heads of the chains fresh ones wait for, by how fresh
        # (a head by its fresh follower), newest first.
        cur.execute(
            self._fresh_heads(fresh_routes[0]) + lock, (cutoff, now, now, *fresh_routes[1], limit)
        )
        fresh = list(cur.fetchall())
        cur.execute(
            f"SELECT {CLAIM_COLUMNS}, d.created_at AS fresh_at FROM deliveries d{by_created}"
            f" JOIN events e ON e.pk = d.event_pk"
            f" WHERE {_FRESH} AND {DUE} AND {IN_TURN} AND {fresh_routes[0]}"
            f" ORDER BY d.created_at DESC, d.event_pk DESC, {self._inserted} LIMIT ?{lock}",
            (cutoff, now, now, *fresh_routes[1], limit),
        )
        fresh += cur.fetchall()
        fresh.sort(key=lambda row: -float(row["fresh_at"]))  # stable: route order kept
        chosen: dict[str, tuple[Row, str | None, bool]] = {}
        self._take(chosen, fresh, limit, pacing, allowance, cutoff=None)
        if len(chosen) < limit:
            cur.execute(
                f"SELECT {CLAIM_COLUMNS} FROM deliveries d JOIN events e ON e.pk = d.event_pk"
                f" WHERE {DUE} AND {IN_TURN} AND {backlog_routes[0]}"
                f" ORDER BY d.next_attempt_at, {self._inserted} LIMIT ?{lock}",
                (now, now, *backlog_routes[1], limit),
            )
            self._take(chosen, cur.fetchall(), limit, pacing, allowance, cutoff=cutoff)
        sends = [(c, now, b) for _, c, b in chosen.values() if c is not None]
        if sends:
            cur.executemany(
                "INSERT INTO github_sends (credential, sent_at, backlog) VALUES (?, ?, ?)", sends
            )
        return list(chosen.values())

    @staticmethod
    def _take(
        chosen: dict[str, tuple[Row, str | None, bool]],
        rows: Iterable[Row],
        limit: int,
        pacing: Pacing | None,
        allowance: dict[str, _Allowance],
        *,
        cutoff: float | None,
    ) -> None:
        """Add ``rows`` to ``chosen`` in order while their credential has budget. ``cutoff``:
        rows are backlog unless fresh by it (the backlog query also returns fresh ones the
        fresh budget left); None: every row is fresh."""
        for row in rows:
            if len(chosen) >= limit:
                return
            if row["id"] in chosen:
                continue
            credential = pacing.credential_of(row["route"]) if pacing is not None else None
            backlog = cutoff is not None and not _is_fresh(row, cutoff)
            if credential is not None and not allowance[credential].take(backlog=backlog):
                continue
            chosen[row["id"]] = (row, credential, backlog)

    def _fresh_heads(self, routes: str) -> str:
        """The earlier pending delivery each fresh one waits for (same route and instance):
        claimed as fresh, so a new event about a version is not held up by the backlog.
        CROSS JOIN keeps SQLite's join order: from the few fresh deliveries out, never from the
        backlog in."""
        by_created = self._indexed_by.format("deliveries_pending_created")
        return (
            f"SELECT {CLAIM_COLUMNS}, f.created_at AS fresh_at FROM deliveries f{by_created}"
            " CROSS JOIN events fe CROSS JOIN events e"
            f" CROSS JOIN deliveries d{self._indexed_by.format('deliveries_event')}"
            " WHERE fe.pk = f.event_pk AND e.instance_type = fe.instance_type"
            " AND e.instance_id = fe.instance_id AND d.event_pk = e.pk AND d.route = f.route"
            " AND f.state = 'pending' AND f.created_at >= ?"
            f" AND d.id <> f.id AND {DUE} AND {IN_TURN} AND {routes}"
            f" ORDER BY f.created_at DESC, f.event_pk DESC, {self._inserted} LIMIT ?"
        )

    @staticmethod
    def _routes_clause(
        pacing: Pacing | None, open_credentials: Sequence[str]
    ) -> tuple[str, tuple[str, ...]]:
        """``d.route`` is not paced, or sends with a credential that has budget."""
        if pacing is None or not pacing.credentials:
            return "1 = 1", ()
        paced = pacing.paced_routes
        allowed = tuple(r for c in open_credentials for r in pacing.credentials[c])
        clause = f"d.route NOT IN ({','.join('?' * len(paced))})"
        if allowed:
            clause = f"({clause} OR d.route IN ({','.join('?' * len(allowed))}))"
        return clause, (*paced, *allowed)

    # When this process last forgot sends older than the hour (the counts skip them anyway:
    # a minute apart saves a statement on nearly every claim).
    _sends_pruned_at = 0.0

    def _budgets(self, cur: Cursor, now: float, pacing: Pacing) -> dict[str, Budget]:
        """Every paced credential's budget at ``now``, in the claim's write transaction: on
        PostgreSQL first under the pacing lock; once a minute, sends older than the hour are
        deleted."""
        if self._pacing_lock:
            cur.execute(self._pacing_lock)
        if not 0 <= now - self._sends_pruned_at < MINUTE:
            cur.execute("DELETE FROM github_sends WHERE sent_at < ?", (now - HOUR,))
            self._sends_pruned_at = now
        return self._budgets_now(cur, now, pacing)

    def _budgets_now(self, cur: Cursor, now: float, pacing: Pacing) -> dict[str, Budget]:
        """Every paced credential's budget at ``now``, from the sends of the last hour."""
        usage = self._usage(cur, now)
        return {c: budget(pacing.limits, usage.get(c, Usage()), now) for c in pacing.credentials}

    def _usage(self, cur: Cursor, now: float) -> dict[str, Usage]:
        minute = now - MINUTE
        cur.execute(
            "SELECT credential, SUM(CASE WHEN sent_at >= ? THEN 1 ELSE 0 END) AS minute,"
            " SUM(CASE WHEN sent_at >= ? AND NOT backlog THEN 1 ELSE 0 END) AS fresh_minute,"
            " COUNT(*) AS hour, MIN(CASE WHEN sent_at >= ? THEN sent_at END) AS oldest_minute,"
            " MIN(sent_at) AS oldest_hour, MAX(CASE WHEN backlog THEN sent_at END) AS last_backlog"
            " FROM github_sends WHERE sent_at >= ? GROUP BY credential",
            (minute, minute, minute, now - HOUR),
        )
        return {
            row["credential"]: Usage(
                minute=int(row["minute"] or 0),
                fresh_minute=int(row["fresh_minute"] or 0),
                hour=int(row["hour"] or 0),
                oldest_minute=row["oldest_minute"],
                oldest_hour=row["oldest_hour"],
                last_backlog=row["last_backlog"],
            )
            for row in cur.fetchall()
        }

    def _paced_due_at(self, cur: Cursor, now: float, pacing: Pacing) -> float | None:
        """When a claim would next take something: the earliest due delivery that may be
        sent now (unpaced, or its credential has budget; fresh ones by the fresh budget),
        else the earliest time a credential's backlog budget opens again. A credential out
        of budget never makes the dispatcher look again before its budget opens."""
        budgets = self._budgets_now(cur, now, pacing)
        backlog_routes = self._routes_clause(
            pacing, [c for c, b in budgets.items() if b.backlog > 0]
        )
        fresh_routes = self._routes_clause(pacing, [c for c, b in budgets.items() if b.fresh > 0])
        due = f"{self._greatest}(d.next_attempt_at, COALESCE(d.lease_until, 0))"
        base = f" FROM deliveries d JOIN events e ON e.pk = d.event_pk WHERE {IN_TURN} AND"
        cur.execute(
            f"SELECT MIN({due}) AS due{base} d.state = 'pending' AND {backlog_routes[0]}",
            backlog_routes[1],
        )
        found = [_float(cur.fetchone())]
        cutoff = now - pacing.fresh_seconds
        cur.execute(
            f"SELECT MIN({due}) AS due{base} {_FRESH} AND {fresh_routes[0]}",
            (cutoff, *fresh_routes[1]),
        )
        found.append(_float(cur.fetchone()))
        found += [b.reopens_at for b in budgets.values() if b.reopens_at is not None]
        times = [t for t in found if t is not None]
        return min(times) if times else None


def _is_fresh(row: Row, cutoff: float) -> bool:
    return bool(row["created_at"] >= cutoff)


def _float(row: Row | None) -> float | None:
    return float(row["due"]) if row is not None and row["due"] is not None else None
