"""Many keys' hashes, for the repeated-key check of a long import (imports/seen.py): a sorted numpy array
in memory, spilling to a temporary file."""

from __future__ import annotations

import pathlib
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

#: Key hashes held in memory (8 bytes each, and as much again for a moment while a chunk's are merged in:
#: 16 MB at most) before the rest go to a temporary SQLite file, so a file of any length keeps the child's
#: memory bounded.
MEMORY_KEYS = 1_000_000
#: Hashes asked about in one query (SQLite allows 32,766 parameters).
QUERY_KEYS = 5_000

Hashes = npt.NDArray[np.int64]


class SortedHashes:
    """A sorted int64 array of key hashes, searched and merged a whole chunk at a time. Two of a million
    different keys share a 64-bit hash (and the second is wrongly reported as repeated) with a chance of
    about 1 in 37 million; at 5 million rows, 1 in 1.5 million."""

    def __init__(self, known: Iterable[int], memory_keys: int | None = None) -> None:
        """`known`: hashes already passed, none twice."""
        self.memory_keys = MEMORY_KEYS if memory_keys is None else memory_keys
        self._memory: Hashes = np.empty(0, dtype=np.int64)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None
        first = np.unique(np.fromiter(known, dtype=np.int64))
        self._remember(first, np.zeros(len(first), dtype=np.intp))

    def repeats(self, hashes: Sequence[int]) -> set[int]:
        """Positions in `hashes` seen before (earlier or earlier in this list); the others are remembered."""
        batch = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
        order = np.argsort(batch, kind="stable")  # equal hashes keep their row order: the first one passes
        ordered = batch[order]
        repeated = np.zeros(len(ordered), dtype=bool)
        repeated[1:] = ordered[1:] == ordered[:-1]
        known = self._memory
        at = np.searchsorted(known, ordered)  # where each would go among the known: found there if known
        if len(known):
            repeated |= known[np.minimum(at, len(known) - 1)] == ordered
        if self._db is not None:
            stored = _stored(self._db, np.unique(ordered).tolist())
            if stored:
                repeated |= np.isin(ordered, np.fromiter(stored, dtype=np.int64, count=len(stored)))
        fresh = ~repeated
        self._remember(ordered[fresh], at[fresh])
        return set(order[repeated].tolist()) if repeated.any() else set()

    def _remember(self, fresh: Hashes, at: npt.NDArray[np.intp]) -> None:
        """Keep `fresh` (sorted, none known, none twice; `at` their places among the known): merged into the
        array, or written to the file."""
        if not len(fresh):
            return
        if self._db is None and len(self._memory) + len(fresh) <= self.memory_keys:
            self._memory = np.insert(self._memory, at, fresh)
            return
        if self._db is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="jobdeck-keys-")
            self._db = sqlite3.connect(pathlib.Path(self._tmp.name) / "seen.sqlite3", isolation_level=None)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE seen (h INTEGER PRIMARY KEY)")
            fresh = np.union1d(self._memory, fresh)
            self._memory = np.empty(0, dtype=np.int64)
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen VALUES (?)", zip(fresh.tolist()))
        self._db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _stored(db: sqlite3.Connection, hashes: Sequence[int]) -> set[int]:
    """Which of `hashes` the temporary file holds."""
    found: set[int] = set()
    for start in range(0, len(hashes), QUERY_KEYS):
        part = hashes[start : start + QUERY_KEYS]
        marks = ",".join("?" * len(part))
        found.update(h for (h,) in db.execute(f"SELECT h FROM seen WHERE h IN ({marks})", part))  # nosec B608
    return found
