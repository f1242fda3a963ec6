"""Fewer garbage collections while imports run in this process: a chunk allocates ~100,000 short-lived lists
and tuples, and Python's default of a young-generation collection every 700 allocations costs a third of the
time."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

#: Allocations between young-generation collections while an import runs (Python's default is 700):
#: a chunk allocates ~100,000 short-lived lists and tuples, and collecting every 700 costs a third of the time.
GC_GEN0_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young-generation threshold while any import runs in this process; restore it after the last."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_gc_saved[0], GC_GEN0_THRESHOLD), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)
