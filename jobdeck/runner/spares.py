"""Starting isolated children (runner/isolation.py), and keeping one started ahead per kind of work.

A child is a fresh interpreter that must load its entry's modules before it reads a byte of its input: about
0.6 s of CPU for an import (SQLAlchemy, pydantic, the application's job modules), during which the job's
thread has nothing to do. So when a child ends, another one like it is started at once (a spare): it loads
the same modules and then waits for its order on its standard input. The next job of that kind takes it and
starts working at once. A spare costs what an idle interpreter with those modules costs (about 60 MB
resident for an import); JOBDECK_ISOLATED_SPARE=false turns spares off.

A spare is the same process a job would have started: it has read nothing untrusted, and its caps are set
when its order comes (runner/child.py). It ends when its standard input closes: when it is released, and
when the process that started it is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import pickle  # the child reads its preparation and order from the process that started it  # nosec B403
import subprocess  # runs this interpreter on a module of this package, no shell  # nosec B404
import sys
import tempfile
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import IO

from jobdeck.runner import child as child_side

#: What a spare is kept for: its entry point and the modules it loads ahead.
Kind = tuple[str, tuple[str, ...]]


@dataclasses.dataclass
class Started:
    """A child process, its message pipe and the file its standard error goes to."""

    proc: subprocess.Popen[bytes]
    conn: Connection
    stderr: IO[bytes]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def discard(self) -> None:
        """End the process and free what it holds."""
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(10)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.conn.close()
        self.stderr.close()


def start(modules: Sequence[str]) -> Started:
    """A new child that loads `modules`, then waits for its order."""
    read_fd, write_fd = os.pipe()
    stderr = tempfile.TemporaryFile(prefix="jobdeck-child-")  # noqa: SIM115 - closed by Started.discard or _Run.stop
    # Few malloc arenas: each thread's arena reserves 64 MB of address space, which RLIMIT_AS counts.
    # One OpenBLAS thread (numpy's): each thread of its pool reserves buffers the cap counts too, and a
    # child's work is one thread (34 MB of address space less on two cores).
    # No Rust backtraces: the allocation failure's one line is what tells a memory cap from a crash.
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1", "RUST_BACKTRACE": "0"}
    try:
        proc = subprocess.Popen(  # a fixed argument list, no shell  # nosec B603
            [sys.executable, "-m", "jobdeck.runner.child", str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            pass_fds=(write_fd,),
            env=env,
        )
    except BaseException:
        os.close(read_fd)
        stderr.close()
        raise
    finally:
        os.close(write_fd)
    started = Started(proc, Connection(read_fd, writable=False), stderr)
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):  # a child that died at once is reported when it is used
        proc.stdin.write(pickle.dumps(child_side.preparation(modules), protocol=pickle.HIGHEST_PROTOCOL))
        proc.stdin.flush()
    return started


class Spares:
    """At most one idle child per kind of work, for this process's jobs to take."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[Kind, Started] = {}

    def take(self, kind: Kind) -> Started | None:
        """The spare of this kind, if one is waiting and alive; it is the caller's from now on."""
        with self._lock:
            spare = self._idle.pop(kind, None)
        if spare is not None and not spare.alive():  # killed while it waited (an operator, the OOM killer)
            spare.discard()
            return None
        return spare

    def refill(self, kind: Kind, modules: Sequence[str]) -> None:
        """Start a spare of this kind unless one is waiting already."""
        with self._lock:
            if kind not in self._idle:
                self._idle[kind] = start(modules)

    def release(self) -> None:
        """End every waiting spare."""
        with self._lock:
            idle, self._idle = list(self._idle.values()), {}
        for spare in idle:
            spare.discard()

    def forget(self) -> None:
        """In a forked process: drop every spare without ending it (they are the parent's), closing this
        process's copies of their pipes, so that a spare still ends when the parent does."""
        for spare in self._idle.values():
            if spare.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    spare.proc.stdin.close()
            spare.conn.close()
            spare.stderr.close()
        self._lock = threading.Lock()
        self._idle = {}

    def waiting(self) -> dict[Kind, int]:
        """The pid of each waiting spare, by kind (for tests and diagnostics)."""
        with self._lock:
            return {kind: spare.proc.pid for kind, spare in self._idle.items()}


SPARES = Spares()
atexit.register(SPARES.release)
os.register_at_fork(after_in_child=SPARES.forget)
