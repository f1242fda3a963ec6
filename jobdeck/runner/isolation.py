"""Work on untrusted input in a child process with a memory and a CPU-time cap, so that a huge allocation,
a native crash or an endless loop ends one job, never the worker or the web server around it.

A job type declares `isolated=True` (with `memory_mb` and `cpu_seconds`) when registered; its function then
runs the risky part with `child(...)`: a fresh `python -m jobdeck.runner.child` (never a fork of this
threaded process; runner/spares.py starts it, perhaps ahead of need) capped by RLIMIT_AS and RLIMIT_CPU,
whose messages the job reads one at a time while the child computes the next. The job keeps every database
write, so fencing and resuming work as for any job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import pathlib
import pickle  # messages are read with a class-free unpickler (_Plain)  # nosec B403
import resource
import signal
import time
from collections.abc import Iterator, Sequence
from typing import Any

from jobdeck import errors
from jobdeck.runner import child as child_side
from jobdeck.runner import spares
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import ChildLimit, JobType
from jobdeck.settings import Settings

log = logging.getLogger(__name__)
#: How often a job waiting for its child looks at its cancel flag (a user's cancel, a time limit, a lost lease).
POLL_S = 0.1
#: How long a child that said it is done may take to exit before it is killed.
EXIT_WAIT_S = 10.0
STDERR_TAIL_BYTES = 4096
#: The child's size is also sampled every this many messages, for a child that is never idle.
SAMPLE_EVERY = 16
#: What a child that ran out of address space leaves on its standard error (Python, Rust, glibc, OpenBLAS).
MEMORY_HINTS = (
    b"MemoryError",
    b"memory allocation of",
    b"Cannot allocate memory",
    b"out of memory",
    b"OpenBLAS error: Memory allocation",  # numpy's OpenBLAS, which exits when its buffers do not fit
)
#: A child that dies by a signal with a sampled peak RSS above this share of its cap most likely ran out of
#: memory (a native allocation failure that printed nothing).
NEAR_CAP = 0.8


class ChildStopped(errors.JobdeckError):
    """The process doing this job's work stopped before it finished; the message says why."""


@dataclasses.dataclass(frozen=True)
class Caps:
    """The limits a child runs under (None: no limit)."""

    memory_mb: int | None
    cpu_seconds: int | None

    @classmethod
    def of(cls, job_type: JobType, settings: Settings) -> Caps:
        """The declared caps of an isolated job type, read against the worker's settings."""
        if not job_type.isolated:
            raise ValueError(f"job type {job_type.name!r} is not declared isolated=True")
        return cls(_resolve(job_type.memory_mb, settings), _resolve(job_type.cpu_seconds, settings))


def _resolve(limit: ChildLimit, settings: Settings) -> int | None:
    return limit(settings) if callable(limit) else limit


@dataclasses.dataclass(frozen=True)
class Wording:
    """How failures read to a user: "Reading this file needed more than 512 MB; split the file …"."""

    subject: str = "this job's work"  #: "reading this file"
    memory_advice: str = "ask an administrator about the job type's memory limit"
    cpu_advice: str = "ask an administrator about the job type's CPU-time limit"

    @property
    def doing(self) -> str:
        return self.subject[:1].upper() + self.subject[1:]

    def memory(self, caps: Caps) -> str:
        return f"{self.doing} needed more than {caps.memory_mb:,} MB; {self.memory_advice}."

    def cpu(self, caps: Caps) -> str:
        return f"{self.doing} took more than {caps.cpu_seconds:,} s of CPU time; {self.cpu_advice}."

    def stopped(self, how: str) -> str:
        return f"The process {self.subject} stopped ({how}); if it happens again, tell an administrator."


class _Plain(pickle.Unpickler):
    """Builtin containers and scalars only: a child that was subverted by its input cannot name a class."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a child process sent an object of class {module}.{name}; refused")


def loads(data: bytes) -> Any:
    return _Plain(io.BytesIO(data)).load()  # find_class refuses every class  # nosec B301


@contextlib.contextmanager
def child(
    ctx: JobContext, caps: Caps, entry: str, args: Any, wording: Wording, preload: Sequence[str] = ()
) -> Iterator[Iterator[Any]]:
    """Start `entry(args, send)` in a capped child; yields the iterator of what it sends. Leaving the block
    ends the child (killed if it still runs): an exception in the job never leaves a child behind.

    The child loads the entry's module and the `preload` modules before its order. With
    JOBDECK_ISOLATED_SPARE on, a spare that did so ahead is taken when one is waiting, and another is
    started when this child ends (runner/spares.py)."""
    modules = [entry.partition(":")[0], *preload]
    kind: spares.Kind = (entry, tuple(modules))
    use_spares = ctx.settings.isolated_spare
    order = child_side.order(entry, args, caps.memory_mb, caps.cpu_seconds)
    started = spares.SPARES.take(kind) if use_spares else None
    if started is None or not _hand_over(started, order):  # a spare that died just now: start afresh
        if started is not None:
            started.discard()
        started = spares.start(modules)
        _hand_over(started, order)  # a child that died at once is reported by messages()
    run = _Run(ctx, started, caps, wording)
    try:
        yield run.messages()
    finally:
        run.stop()
        if use_spares and not ctx.cancelled():  # not while the worker stops or the job is cancelled
            _refill(kind, modules)


def _refill(kind: spares.Kind, modules: Sequence[str]) -> None:
    """Start the next spare; a failure (no process or file left to start it) costs the next job its head
    start, never this job its outcome."""
    try:
        spares.SPARES.refill(kind, modules)
    except Exception as exc:  # logged: the next job starts its own child
        log.warning("could not start a spare child for %s: %s", kind[0], exc)


def _hand_over(started: spares.Started, order: dict[str, Any]) -> bool:
    """Send the child its order and close its standard input; False if it is no longer there to read it."""
    stdin = started.proc.stdin
    assert stdin is not None
    try:
        stdin.write(pickle.dumps(order, protocol=pickle.HIGHEST_PROTOCOL))
        stdin.close()
    except (BrokenPipeError, ValueError):
        with contextlib.suppress(OSError):
            stdin.close()
        return False
    return True


class _Run:
    """One child process, watched from the job's thread."""

    def __init__(self, ctx: JobContext, started: spares.Started, caps: Caps, wording: Wording) -> None:
        self.ctx = ctx
        self.proc, self.conn, self.stderr = started.proc, started.conn, started.stderr
        self.caps, self.wording = caps, wording
        self.usage: resource.struct_rusage | None = None
        #: the child's peak RSS as last sampled (VmHWM; ru_maxrss would count the size of this process
        #: at the fork that started it)
        self.peak_kb = 0

    def messages(self) -> Iterator[Any]:
        received = 0
        while True:
            if self.ctx.cancelled():
                self.kill()
                self.ctx.raise_if_cancelled()
            if not self.conn.poll(POLL_S):
                self.sample_memory()  # the child is busy: a cheap moment to look at its size
                continue
            try:
                message = loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                raise self.failure() from None
            received += 1
            if received % SAMPLE_EVERY == 0:
                self.sample_memory()
            tag = message[0] if isinstance(message, tuple) and message else None
            if tag == child_side.END:
                self.reap(EXIT_WAIT_S)
                return
            if tag == child_side.OUT_OF_MEMORY:
                raise ChildStopped(self.wording.memory(self.caps))
            if tag == child_side.RAISED:
                raise _rebuilt(message[1], message[2])
            yield message

    def sample_memory(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in pathlib.Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def failure(self) -> ChildStopped:
        """Why the child ended without saying it was done, in words its user understands."""
        self.reap(EXIT_WAIT_S)
        code = self.proc.returncode
        tail = self.stderr_tail()
        if tail:
            log.warning("child process %s ended (%s): %s", self.proc.pid, code, tail.decode(errors="replace"))
        peak_mb = self.peak_kb / 1024
        cpu_s = self.usage.ru_utime + self.usage.ru_stime if self.usage else 0.0
        if code == -signal.SIGXCPU or (self.caps.cpu_seconds and code < 0 and cpu_s >= self.caps.cpu_seconds):
            return ChildStopped(self.wording.cpu(self.caps))
        near_cap = bool(self.caps.memory_mb) and peak_mb >= NEAR_CAP * (self.caps.memory_mb or 0)
        if self.caps.memory_mb and (any(h in tail for h in MEMORY_HINTS) or (code < 0 and near_cap)):
            return ChildStopped(self.wording.memory(self.caps))
        if code < 0:
            return ChildStopped(self.wording.stopped(f"signal {-code}"))
        return ChildStopped(self.wording.stopped(f"exit status {code}"))

    def stderr_tail(self) -> bytes:
        """The start and the end of what the child wrote to its standard error (a backtrace may be long)."""
        with contextlib.suppress(OSError, ValueError):
            size = self.stderr.seek(0, io.SEEK_END)
            self.stderr.seek(0)
            head = self.stderr.read(STDERR_TAIL_BYTES)
            if size <= 2 * STDERR_TAIL_BYTES:
                return (head + self.stderr.read()).strip()
            self.stderr.seek(size - STDERR_TAIL_BYTES)
            return head.strip() + b"\n[...]\n" + self.stderr.read().strip()
        return b""

    def reap(self, timeout: float) -> None:
        """Wait for the child (killing it after `timeout`), keeping its own resource usage for the diagnosis."""
        if self.proc.returncode is not None:
            return
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                self.kill()
                _, status, usage = os.wait4(self.proc.pid, 0)
                break
            time.sleep(0.02)
        self.usage = usage
        self.proc.returncode = os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    def stop(self) -> None:
        self.kill()
        with contextlib.suppress(Exception):
            self.reap(EXIT_WAIT_S)
        self.conn.close()
        self.stderr.close()


def _rebuilt(name: str, message: str) -> Exception:
    """The child's exception in the parent: jobdeck's own error classes by name, anything else as a stop."""
    cls = getattr(errors, name, None) if name else None
    if isinstance(cls, type) and issubclass(cls, errors.JobdeckError):
        return cls(message)
    return ChildStopped(message)
