"""Run tests/fakes/github.py's fake GitHub as a process: ``fake_github_server.py PORT LATENCY``.

Every dispatch is answered after LATENCY seconds (0: at once). Stops on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.github import FakeGitHub, RecordedRequest, Reply


def main() -> None:
    port, latency = int(sys.argv[1]), float(sys.argv[2])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    fake = FakeGitHub(port=port)
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
