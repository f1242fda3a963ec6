"""The keys an import has passed, to reject a repeated one: a set in memory, spilling to a temporary file."""

from __future__ import annotations

import pathlib
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence

#: Key hashes held in memory (about 80 bytes each) before the rest go to a temporary SQLite file, so a
#: file of any length keeps the worker's memory bounded. A million rows stay in memory.
MEMORY_KEYS = 1_000_000
#: Hashes asked about in one query (SQLite allows 32,766 parameters).
QUERY_KEYS = 5_000
#: Bits of each hash kept: an int of up to 60 bits takes 32 bytes, a 64-bit one 48 (the allocator's size
#: classes), so a million keys hold ~10 MB less. Two of a million different keys then share a hash (and
#: the second is wrongly reported as repeated) with a chance of 1 in 2 million; at 5 million rows, 1 in 90,000.
BITS = 60
_fold = ((1 << BITS) - 1).__and__


class SeenKeys:
    """Hashes of keys (BITS bits), not the keys: a million keys would cost ~100 MB more as strings."""

    def __init__(self, memory_keys: int | None = None) -> None:
        self.memory_keys = MEMORY_KEYS if memory_keys is None else memory_keys
        self._memory: set[int] = set()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None

    def repeats(self, hashes: Sequence[int]) -> set[int]:
        """Positions in `hashes` seen before (earlier or earlier in this list); the others are remembered."""
        hashes = list(map(_fold, hashes))
        fresh = set(hashes)
        if len(fresh) == len(hashes) and self._memory.isdisjoint(fresh) and not self._stored(fresh):
            self._remember(fresh)
            return set()
        known = self._memory & fresh | self._stored(fresh)
        repeated: set[int] = set()
        passed: set[int] = set()
        for position, digest in enumerate(hashes):
            if digest in known or digest in passed:
                repeated.add(position)
            else:
                passed.add(digest)
        self._remember(passed)
        return repeated

    def _stored(self, hashes: Iterable[int]) -> set[int]:
        if self._db is None:
            return set()
        found: set[int] = set()
        pending = list(hashes)
        for start in range(0, len(pending), QUERY_KEYS):
            part = pending[start : start + QUERY_KEYS]
            marks = ",".join("?" * len(part))
            found.update(h for (h,) in self._db.execute(f"SELECT h FROM seen WHERE h IN ({marks})", part))  # nosec B608
        return found

    def _remember(self, hashes: set[int]) -> None:
        if self._db is None and len(self._memory) + len(hashes) <= self.memory_keys:
            self._memory |= hashes
            return
        if self._db is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="jobdeck-keys-")
            self._db = sqlite3.connect(pathlib.Path(self._tmp.name) / "seen.sqlite3", isolation_level=None)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE seen (h INTEGER PRIMARY KEY)")
            hashes = hashes | self._memory
            self._memory = set()
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen VALUES (?)", ((h,) for h in sorted(hashes)))
        self._db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
