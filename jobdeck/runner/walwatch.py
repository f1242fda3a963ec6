"""Waiting for a SQLite database's write-ahead log to change, asleep in the kernel while nothing is written.

Every commit in WAL mode writes to `<database>-wal`. On Linux, inotify on the file's folder (not on the
file, which SQLite deletes and creates again) tells the watcher at once, so an idle worker makes no
wake-up at all until a commit. Elsewhere, or when the kernel has no inotify instance or watch left to
give (`fs.inotify.max_user_instances`, `max_user_watches`), the watcher looks every `POLL_S` instead:
what it did everywhere before. Either way the answer is only a hint that something was written; the
caller asks the database what changed.
"""

from __future__ import annotations

import logging
import os
import select
import threading
from typing import Protocol

try:  # Linux only; the poll below stands in elsewhere
    import inotify_simple
except ImportError:  # pragma: no cover - the tests run on Linux
    inotify_simple = None

log = logging.getLogger(__name__)
#: How often the fallback looks, and the shortest gap between two answers under a stream of commits: one
#: look per few milliseconds answers in milliseconds, and a busy database costs the watcher no more.
POLL_S = 0.004


class Watch(Protocol):
    """Used by one thread, which calls `wait` until it answers False and then `close`; any thread may `stop`."""

    #: whether `wait` answers as soon as the log is written, which is before the commit shows
    early: bool

    def wait(self) -> bool:
        """Block until the log may have changed (True) or `stop` was called (False)."""

    def stop(self) -> None: ...

    def close(self) -> None: ...


class Polling:
    """A look every POLL_S: the fallback."""

    early = False

    def __init__(self) -> None:
        self._stopped = threading.Event()

    def wait(self) -> bool:
        return not self._stopped.wait(POLL_S)

    def stop(self) -> None:
        self._stopped.set()

    def close(self) -> None:
        pass


class Notified:
    """inotify on the database's directory, for writes to its `-wal` file. Not its creation, which opening
    the database does (this watcher's own connection among others), nor the database file, which
    checkpoints write: neither is a commit. (jobdeck always runs SQLite in WAL mode.)"""

    early = True

    def __init__(self, database: str) -> None:
        assert inotify_simple is not None  # watch() only builds one where the module loaded
        folder, name = os.path.split(os.path.abspath(database))
        self._wal = name + "-wal"
        self._stopped = threading.Event()
        self._lock = threading.Lock()  #: stop() from another thread never writes to a closed descriptor
        self._closed = False
        self._inotify = inotify_simple.INotify()
        self._wake_r, self._wake_w = os.pipe()
        self._poller = select.poll()  # not select(): a busy server's descriptors pass FD_SETSIZE
        try:
            self._inotify.add_watch(folder, inotify_simple.flags.MODIFY)
        except BaseException:
            self.close()
            raise
        self._poller.register(self._inotify.fileno(), select.POLLIN)
        self._poller.register(self._wake_r, select.POLLIN)

    def wait(self) -> bool:
        # Under a stream of commits, one answer per POLL_S at most: the events in between pile up in the
        # kernel's queue (identical ones merged) and are read as one.
        if self._stopped.wait(POLL_S):
            return False
        while True:
            ready = {fd for fd, _ in self._poller.poll()}
            if self._stopped.is_set():
                return False
            if self._inotify.fileno() in ready and self._changed():
                return True

    def _changed(self) -> bool:
        overflow = inotify_simple.flags.Q_OVERFLOW  # type: ignore[union-attr]
        return any(event.name == self._wal or event.mask & overflow for event in self._inotify.read(timeout=0))

    def stop(self) -> None:
        with self._lock:
            if not self._stopped.is_set() and not self._closed:
                os.write(self._wake_w, b"x")  # ends a poll() in progress
            self._stopped.set()

    def close(self) -> None:
        """Release the descriptors: by the thread that waited, once it is done waiting."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._inotify.close()
            os.close(self._wake_w)
            os.close(self._wake_r)


def watch(database: str) -> Watch:
    """The best watch this system offers on the database file's log."""
    if inotify_simple is not None:
        try:
            return Notified(database)
        except OSError as exc:
            log.warning("cannot watch %s with inotify (%s); looking every %.0f ms", database, exc, POLL_S * 1000)
    return Polling()
