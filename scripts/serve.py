"""`make run`: the background worker (django-q2 `manage.py qcluster`: the scheduler and
worker processes that send reminders) beside the web server (granian).

Each child runs in its own process group; Ctrl-C (SIGINT) or SIGTERM to this script is
passed on once to each child's main process, which stops its own workers. If either
child exits, the other is stopped. A child still running GRACE_SECONDS later is
killed. Arguments are granian's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

VENV = Path(os.environ.get("VENV", ".venv"))
GRACE_SECONDS = 20


def main(granian_args: list[str]) -> int:
    worker = subprocess.Popen(  # noqa: S603
        [str(VENV / "bin/python"), "manage.py", "qcluster"], start_new_session=True
    )
    web = subprocess.Popen([str(VENV / "bin/granian"), *granian_args], start_new_session=True)  # noqa: S603
    children = [web, worker]
    print(f"Background worker started (pid {worker.pid}).", flush=True)  # noqa: T201
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not received and all(child.poll() is None for child in children):
        time.sleep(0.2)
    stop_with = received[0] if received else signal.SIGTERM
    for child in children:
        if child.poll() is None:
            child.send_signal(stop_with)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return 0 if received else (web.returncode or worker.returncode or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
