"""Running workers: embedded in the web server (a background thread) or as the main loop of a process."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from jobdeck import errors, model
from jobdeck.runner.worker import Worker

log = logging.getLogger(__name__)
#: exit statuses of `jobdeck worker` (0: stopped on request, 1: could not start)
EXIT_DATABASE_UNREACHABLE = 3
EXIT_STUCK = 4


class EmbeddedWorkers:
    """A worker pool in a background thread of this process (what `jobdeck serve` and a mounted page run).

    The worker is made at `start()` (from `make`), so the object exists before it runs: the process that
    serves can ask what is running and hurry the stop without knowing how the workers were built."""

    def __init__(self, make: Callable[[], Worker]) -> None:
        self._make = make
        self.worker: Worker | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.worker = self._make()
        self._thread = threading.Thread(target=self._run, args=(self.worker,), name="jobdeck-worker", daemon=True)
        self._thread.start()

    def _run(self, worker: Worker) -> None:
        try:
            worker.run()
        except errors.DatabaseUnreachable:
            log.error("embedded workers stopped: the database was unreachable for longer than the lease")
        except errors.WorkerStuck:
            log.error("embedded workers stopped: too many jobs ignored their time limit; restart the server")
        except Exception:
            log.exception("embedded workers stopped unexpectedly")

    def running(self) -> list[model.Job]:
        """The jobs running now; none before `start()`."""
        return self.worker.running() if self.worker is not None else []

    def hurry(self) -> None:
        """Hand the running jobs back to the queue at once (a `stop()` in progress ends without its grace)."""
        if self.worker is not None:
            self.worker.hurry()

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop claiming, let running jobs finish for the grace, hand back the rest, and wait for the thread."""
        if self.worker is not None:
            self.worker.stop(grace_seconds)
        if self._thread is not None:
            self._thread.join()


def run_in_foreground(worker: Worker, *, burst: bool = False) -> int:
    """Run a worker as this process's main loop: SIGTERM and SIGINT stop it gracefully (a second
    signal stops it at once, handing running jobs back). Returns the exit status."""
    signals = 0

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal signals
        signals += 1
        log.info("signal %s: stopping (%s)", signum, "now" if signals > 1 else "gracefully")
        worker.stop(0 if signals > 1 else None)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.run(burst=burst)
        return 0
    except errors.DatabaseUnreachable as exc:
        log.error("%s", exc)
        return EXIT_DATABASE_UNREACHABLE
    except errors.WorkerStuck as exc:
        log.error("%s", exc)
        return EXIT_STUCK
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
