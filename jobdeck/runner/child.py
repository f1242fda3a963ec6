"""The child side of runner/isolation.py: `python -m jobdeck.runner.child FD` caps itself, runs one entry point
and sends its messages down the pipe FD, pickled, through a queue of two (backpressure, constant memory).

The parent writes two pickled dicts to this process's standard input: at once a preparation (see
`preparation`: where modules are and which to load), then, perhaps much later, the order (see `order`).
Between the two the child loads its modules, so a child started ahead (runner/spares.py) has its interpreter
and modules ready when the order comes; a standard input closed before any order ends it quietly. Both come
from the process that started this one, so they are trusted. What goes back up the pipe is read by the parent
with an unpickler that refuses every class (see isolation.py): messages hold only tuples, lists, dicts, str,
bytes, int, float, bool and None.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import pickle  # the parent reads these messages with a class-free unpickler  # nosec B403
import queue
import resource
import sys
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from jobdeck import errors

#: Messages queued for the pipe: the entry computes the next while the parent works on the last ones.
QUEUED_MESSAGES = 2
#: A message larger than this is refused in the child: the parent must hold it whole while it works on it.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
#: Tags of the messages the framework sends (an entry's own messages are anything else).
END, RAISED, OUT_OF_MEMORY = "__end__", "__raised__", "__memory__"

Send = Callable[[Any], None]


def order(entry: str, args: Any, memory_mb: int | None, cpu_seconds: int | None) -> dict[str, Any]:
    """What the parent asks of the child: call `entry` ("package.module:function") as function(args, send)
    under these caps. A plain dict, so unpickling it needs no class of this module."""
    return {"entry": entry, "args": args, "memory_mb": memory_mb, "cpu_seconds": cpu_seconds}


def preparation(modules: Sequence[str]) -> dict[str, Any]:
    """What the child loads before its order: this process's import path and `modules` (the entry's own first)."""
    return {"sys_path": sys.path, "modules": list(modules)}


class MessageTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"a message of {size:,} bytes, over {MAX_MESSAGE_BYTES:,}")
        self.size = size


class Sender:
    """`send(message)` pickles in the caller's thread and blocks while QUEUED_MESSAGES wait; a thread
    writes them to the pipe (the write releases the GIL, so the entry keeps computing meanwhile)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUED_MESSAGES)
        self._broken: BaseException | None = None
        self._thread = threading.Thread(target=self._pump, name="jobdeck-child-sender", daemon=True)
        self._thread.start()

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(len(data))
        if self._broken is not None:
            raise self._broken
        self._queue.put(data)

    def _pump(self) -> None:
        while (data := self._queue.get()) is not None:
            try:
                self._conn.send_bytes(data)
            except OSError as exc:  # the parent went away: nothing left to do
                self._broken = exc
                return

    def close(self) -> None:
        """Send what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join()


def apply_limits(memory_mb: int | None, cpu_seconds: int | None) -> None:
    if memory_mb:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if cpu_seconds:
        # RLIMIT_CPU counts from the process's start: the time spent loading modules before the order is
        # added, so the work itself gets all of `cpu_seconds`. The soft limit sends SIGXCPU (the parent
        # reports it); the hard one kills, should that be ignored.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime) + cpu_seconds
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 5))


def resolve(entry: str) -> Callable[[Any, Send], None]:
    module, _, name = entry.partition(":")
    func: Callable[[Any, Send], None] = getattr(importlib.import_module(module), name)
    return func


def outcome_of(exc: BaseException) -> tuple[Any, ...]:
    """An entry's exception as a message: jobdeck's own errors by class name, so the parent raises the same."""
    if isinstance(exc, MemoryError):
        return (OUT_OF_MEMORY,)
    name = type(exc).__name__ if isinstance(exc, errors.JobdeckError) else ""
    return (RAISED, name, str(exc) or type(exc).__name__)


def prepare(prepared: dict[str, Any]) -> None:
    """Load the modules named in the preparation. One that fails to load is left for the order: the entry
    imports it again and its error then goes to the parent like any other."""
    sys.path[:0] = [p for p in prepared["sys_path"] if p not in sys.path]
    for module in prepared["modules"]:
        with contextlib.suppress(Exception):
            importlib.import_module(module)


def main(fd: int) -> int:
    # Both from the parent that started us (see the module's docstring).
    prepare(pickle.load(sys.stdin.buffer))  # noqa: S301  # nosec B301
    try:
        asked: dict[str, Any] = pickle.load(sys.stdin.buffer)  # noqa: S301  # nosec B301
    except EOFError:  # a child started ahead and no longer wanted, or its parent is gone
        return 0
    apply_limits(asked["memory_mb"], asked["cpu_seconds"])
    conn = Connection(fd, readable=False)
    sender = Sender(conn)
    try:
        resolve(asked["entry"])(asked["args"], sender.send)
        last: tuple[Any, ...] = (END,)
    except BaseException as exc:  # everything goes to the parent, which decides what the user reads
        last = outcome_of(exc)
    with contextlib.suppress(BaseException):
        sender.send(last)
        sender.close()
    conn.close()
    return 0


if __name__ == "__main__":
    sys.stdout.flush()
    code = main(int(sys.argv[1]))
    sys.stderr.flush()
    os._exit(code)  # no interpreter teardown: the parent already has everything it needs
