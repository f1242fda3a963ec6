"""The keys an import has passed, to reject a repeated one: their hashes in a set while they are few, then in
a sorted array (imports/hashes.py), which holds a million in 8 MB where a set of Python ints takes ~70 MB."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobdeck.imports.hashes import SortedHashes

#: Hashes held in a plain set (about 7 MB at this many) before they move to the sorted array: an import of
#: a smaller file never loads numpy, whose libraries take 80 MB of the reading child's capped address space.
SET_KEYS = 100_000


class SeenKeys:
    """Hashes of keys, not the keys: a million e-mail addresses would cost ~100 MB as strings."""

    def __init__(self, memory_keys: int | None = None, set_keys: int = SET_KEYS) -> None:
        self.memory_keys = memory_keys  #: passed on to the sorted array (None: its default)
        self.set_keys = set_keys
        self._few: set[int] = set()
        self._many: SortedHashes | None = None  #: once the set would grow past set_keys

    def repeats(self, hashes: Sequence[int]) -> set[int]:
        """Positions in `hashes` seen before (earlier or earlier in this list); the others are remembered."""
        if self._many is None and len(self._few) + len(hashes) > self.set_keys:
            self._many = _sorted_hashes().SortedHashes(self._few, self.memory_keys)
            self._few = set()
        if self._many is not None:
            return self._many.repeats(hashes)
        fresh = set(hashes)
        if len(fresh) == len(hashes) and self._few.isdisjoint(fresh):
            self._few |= fresh
            return set()
        repeated: set[int] = set()
        for position, digest in enumerate(hashes):
            if digest in self._few:
                repeated.add(position)
            else:
                self._few.add(digest)
        return repeated

    def close(self) -> None:
        if self._many is not None:
            self._many.close()


def _sorted_hashes() -> ModuleType:
    """imports/hashes.py, loaded when first needed. numpy is installed, so a load that fails in the reading
    child is its memory cap's doing (the libraries map some 80 MB of address space) and reads as running out
    of memory. (When OpenBLAS itself gives up, it exits the process with a message isolation.MEMORY_HINTS knows.)"""
    try:
        return importlib.import_module("jobdeck.imports.hashes")
    except ImportError as exc:
        raise MemoryError(f"numpy does not fit under the memory cap: {exc}") from None
