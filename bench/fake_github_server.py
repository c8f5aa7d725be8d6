"""Run tests/fakes/github.py's fake GitHub as a process:
``fake_github_server.py PORT LATENCY [PER_MINUTE PER_HOUR]``.

Every dispatch is answered after LATENCY seconds (0: at once). With PER_MINUTE and PER_HOUR,
the fake enforces GitHub's secondary limits on content creation per credential (GitHub:
80 and 500) and refuses past them as GitHub does (403, Retry-After). ``GET /_bench/stats``
answers what it saw: every dispatch (``time.monotonic()`` of its arrival, the event id of its
standard payload, refused or not). Stops on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from werkzeug import Response

from tests.fakes.github import FakeGitHub, RecordedRequest, Reply
from tests.fakes.http import json_response


class BenchGitHub(FakeGitHub):
    def _serve(self, record: RecordedRequest) -> Response:
        if record.method == "GET" and record.path == "/_bench/stats":
            return json_response(200, self.stats())
        return super()._serve(record)

    def stats(self) -> dict[str, object]:
        refused = {record.seq for _, record in self.refusals()}
        dispatches = []
        for record in self.dispatches():
            payload = record.json.get("client_payload") if isinstance(record.json, dict) else None
            event_id = payload.get("event_id") if isinstance(payload, dict) else None
            dispatches.append(
                {"at": record.at, "event_id": event_id, "refused": record.seq in refused}
            )
        return {"dispatches": dispatches, "refused": len(refused)}


def main() -> None:
    port, latency = int(sys.argv[1]), float(sys.argv[2])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    fake = BenchGitHub(port=port)
    if len(sys.argv) > 4:
        fake.secondary_limits = (int(sys.argv[3]), int(sys.argv[4]))
    if latency > 0:

        def slow(_: RecordedRequest) -> Reply:
            return Reply(None, delay=latency)

        fake.fault = slow
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fake:
        print(fake.url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
