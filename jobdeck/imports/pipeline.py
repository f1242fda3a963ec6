"""A one-slot pipeline: chunk N is written on a second thread while chunk N+1 is read and checked."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType

Step = Callable[[], None]


class Pipeline:
    """Runs steps in the order given, on one writer thread, at most one step behind the caller.

    Worth it only where the writer mostly waits on another process (PostgreSQL); on SQLite the writer
    needs the GIL between every row, so `threaded=False` runs each step at once, in the caller's thread.
    """

    def __init__(self, threaded: bool) -> None:
        self.threaded = threaded
        self._queue: queue.Queue[Step | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="jobdeck-import-writer", daemon=True)
        if threaded:
            self._thread.start()

    def _run(self) -> None:
        while (step := self._queue.get()) is not None:
            if self._error is None:  # after a failure, later chunks are dropped, never written out of order
                try:
                    step()
                except BaseException as exc:
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, step: Step) -> None:
        """Queue a step (waiting while one is already queued); raises a failure of an earlier step."""
        self._raise()
        if self.threaded:
            self._queue.put(step)
        else:
            step()

    def close(self) -> None:
        """Wait for every queued step; raises the first failure."""
        if self.threaded and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        elif self.threaded and self._thread.is_alive():
            self._queue.put(None)  # the caller failed: let the writer finish its step, then stop
            self._thread.join()
