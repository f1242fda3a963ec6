"""Validation, row by row and free of I/O: each row's cells, taken from the file columns the mapping chose,
into values."""

from __future__ import annotations

import dataclasses
import itertools
import operator
from collections.abc import Sequence
from typing import Any

from jobdeck.imports import fast, mapping, seen
from jobdeck.imports.cells import Invalid as Invalid
from jobdeck.imports.cells import converter as converter
from jobdeck.imports.targets import Column, Target

#: Every code an error report may hold, with what it means; docs/imports.md lists the same.
CODES: dict[str, str] = {
    "required": "the column is required and the cell is empty",
    "too_long": "the text is longer than the column's maximum length",
    "not_allowed": "the value is not one of the column's allowed values",
    "bad_int": "not a whole number",
    "bad_decimal": "not a decimal number, or too many decimal places",
    "bad_bool": "not one of true/false, yes/no, y/n, 1/0",
    "bad_date": "not a date written as YYYY-MM-DD",
    "bad_email": "not an email address",
    "bad_text": "the text contains a NUL character",
    "too_small": "the number is below the column's minimum",
    "too_large": "the number is above the column's maximum",
    "duplicate_key": "an earlier row of the same file has the same key",
    "wrong_cell_count": "the row has more cells than the header",
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One line of the error report."""

    row: int
    column: str
    value: str
    code: str
    message: str


class RowChecker:
    """Checks rows of one file in order; remembers the keys it has passed, to reject a repeated key."""

    def __init__(
        self,
        target: Target,
        columns: Sequence[Column],
        *,
        indexes: Sequence[int] | None = None,
        header_width: int | None = None,
    ) -> None:
        """`indexes`: where each of `columns` is in a file row (None: the row holds exactly them, in order);
        `header_width`: the file header's cell count, past which a non-empty cell is a problem."""
        self.columns = list(columns)
        self.width = len(self.columns)
        self.header_width = self.width if header_width is None else header_width
        self._indexes = list(indexes) if indexes is not None else None
        self._pick = mapping.picker(self._indexes) if self._indexes is not None else None
        self._get = operator.itemgetter(*self._indexes) if self._indexes and len(self._indexes) > 1 else None
        is_key = [c.name in target.key for c in self.columns]
        self._convert = [converter(c, is_key=k) for c, k in zip(self.columns, is_key, strict=True)]
        self._fast = [fast.fast_column(c, is_key=k) for c, k in zip(self.columns, is_key, strict=True)]
        self._pairs = list(zip(self.columns, self._convert, strict=True))
        names = [c.name for c in self.columns]
        self._key_at = [names.index(k) for k in target.key]
        self._key_names = list(target.key)
        self._seen = seen.SeenKeys()

    def _fit(self, number: int, cells: list[str]) -> tuple[list[str], Problem | None]:
        """The row's cells for the used columns, a short row padded (missing cells are empty); non-empty cells
        past the header's width are a problem."""
        width, wanted = len(cells), self.header_width
        if width > wanted and any(cells[wanted:]):
            message = f"{width} cells, but the header has {wanted}"
            return [""] * self.width, Problem(number, "", "", "wrong_cell_count", message)
        if self._pick is not None:
            return self._pick(cells), None
        if width < wanted:
            return cells + [""] * (wanted - width), None
        return cells[:wanted], None

    def _picked(self, batch: Sequence[tuple[int, list[str]]], bad: dict[int, list[Problem]]) -> list[Sequence[str]]:
        """Each row's cells for the used columns, in their order: at C speed when every row is as wide as the
        header, row by row otherwise."""
        rows = [cells for _, cells in batch]
        if self._get is not None and set(map(len, rows)) == {self.header_width}:
            return list(map(self._get, rows))
        picked: list[Sequence[str]] = []
        for i, (number, cells) in enumerate(batch):
            fitted, wrong = self._fit(number, cells)
            if wrong:
                bad[i] = [wrong]
            picked.append(fitted)
        return picked

    def _duplicate(self, number: int, key: tuple[Any, ...]) -> Problem | None:
        digest = hash(key[0]) if len(key) == 1 else hash(key)  # as check_batch hashes it
        return self._repeat(number, key) if self._seen.repeats([digest]) else None

    def close(self) -> None:
        """Drop the remembered keys (and their temporary file, for a long file)."""
        self._seen.close()

    def _repeat(self, number: int, key: tuple[Any, ...]) -> Problem:
        shown = ", ".join(f"{n}={v}" for n, v in zip(self._key_names, key, strict=True))
        message = f"{shown} appears in an earlier row of the file"
        return Problem(number, self._key_names[0], str(key[0]), "duplicate_key", message)

    def check(self, number: int, cells: list[str]) -> tuple[tuple[Any, ...] | None, list[Problem]]:
        """The row's values (None when invalid) and its problems, one per bad cell."""
        if self._pick is not None or len(cells) != self.width:
            cells, wrong = self._fit(number, cells)
            if wrong:
                return None, [wrong]
        values: list[Any] = []
        problems: list[Problem] = []
        for (col, convert), cell in zip(self._pairs, cells, strict=True):
            try:
                values.append(convert(cell))
            except Invalid as bad:
                problems.append(Problem(number, col.name, cell, bad.code, bad.message))
        if problems:
            return None, problems
        duplicate = self._duplicate(number, tuple(values[i] for i in self._key_at))
        if duplicate:
            return None, [duplicate]
        return tuple(values), problems

    def check_batch(
        self, batch: Sequence[tuple[int, list[str]]]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[int, list[str], list[Problem]]]]:
        """`check` for a chunk of rows at once, a column at a time: (valid values, rejected rows), in row order."""
        bad: dict[int, list[Problem]] = {}
        rows: list[Sequence[str]] = [cells for _, cells in batch]
        if self._pick is not None:
            rows = self._picked(batch, bad)
        elif set(map(len, rows)) != {self.width}:
            for i, (number, cells) in enumerate(batch):
                if len(cells) != self.width:
                    rows[i], wrong = self._fit(number, cells)
                    if wrong:
                        bad[i] = [wrong]
        columns: list[list[Any]] = []
        transposed: list[tuple[str, ...]] = list(zip(*rows, strict=True)) if rows else [()] * self.width
        for at, column in enumerate(transposed):
            values, suspects = self._fast[at](column)
            if suspects:
                self._settle(at, column, values, sorted(suspects), batch, bad)
            columns.append(values)
        # A one-column key is hashed as its value, not as a 1-tuple: a tuple per row saved (see _duplicate)
        key_columns = [columns[i] for i in self._key_at]
        keys: Sequence[Any] = key_columns[0] if len(key_columns) == 1 else list(zip(*key_columns, strict=True))
        all_rows = list(zip(*columns, strict=True))
        kept = [True] * len(all_rows)  # the rows no check refused, picked out at C speed
        for i in bad:
            kept[i] = False
        candidates: Sequence[int] = list(itertools.compress(range(len(all_rows)), kept)) if bad else range(len(kept))
        hashes = list(itertools.compress(map(hash, keys), kept)) if bad else list(map(hash, keys))
        repeated = self._seen.repeats(hashes)
        if not repeated:
            valid = list(itertools.compress(all_rows, kept)) if bad else all_rows
        else:  # in row order: the first of two rows with one key is the one kept
            valid = []
            for position, i in enumerate(candidates):
                if position in repeated:
                    key = keys[i] if len(self._key_at) > 1 else (keys[i],)
                    bad[i] = [self._repeat(batch[i][0], key)]
                else:
                    valid.append(all_rows[i])
        rejected = [(batch[i][0], batch[i][1], bad[i]) for i in sorted(bad)]
        return valid, rejected

    def _settle(
        self,
        at: int,
        cells: Sequence[str],
        values: list[Any],
        suspects: list[int],
        batch: Sequence[tuple[int, list[str]]],
        bad: dict[int, list[Problem]],
    ) -> None:
        """Run the per-cell check on the cells the column check was unsure of: a value, or a named problem."""
        col, convert = self._pairs[at]
        for i in suspects:
            try:
                values[i] = convert(cells[i])
            except Invalid as problem:
                values[i] = None
                if i not in bad or bad[i][0].code != "wrong_cell_count":
                    bad.setdefault(i, []).append(
                        Problem(batch[i][0], col.name, cells[i], problem.code, problem.message)
                    )
