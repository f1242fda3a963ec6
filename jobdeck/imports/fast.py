"""Whole-column checks for a chunk: map/all at C speed over a column's cells, naming only the suspects.

A column check returns the values `cells.converter` would give for every cell it is sure of, and the
positions of the cells it is not (the suspects); the caller runs the per-cell converter on those alone,
which names the problem. The two paths must agree: tests/imports/test_properties.py checks they do.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from jobdeck.imports import shapes, targets
from jobdeck.imports.targets import Column

FastColumn = Callable[[Sequence[str]], tuple[list[Any], set[int]]]
Parsed = tuple[list[Any], list[int]]  #: values (None where bad) and the positions of the bad ones


def _normalized(col: Column) -> Callable[[Sequence[str]], list[str]]:
    steps = [(name, targets.NORMALIZERS[name]) for name in col.normalize]

    def apply(cells: Sequence[str]) -> list[str]:
        values = list(cells)
        tidy: tuple[bool, bool] | None = None  # (trim, collapse_spaces) would leave every value as it is
        for name, step in steps:
            if name in _SPACING:
                if tidy is None:
                    tidy = _tidy(values)
                if tidy[_SPACING[name]]:
                    continue  # one look at the whole column instead of a call per cell
                values = list(map(step, values))
                tidy = None
            else:  # lower and upper map no whitespace to anything else: what was tidy stays tidy
                values = list(map(step, values))
        return values

    return apply


#: The whitespace normalisers, each with its place in `_tidy`'s answer.
_SPACING = {"trim": 0, "collapse_spaces": 1}


def _tidy(values: list[str]) -> tuple[bool, bool]:
    """Whether trim, and whether collapse_spaces, would leave every value unchanged: the column joined by a
    printable separator, looked at once. Every whitespace character but the space is unprintable, so a
    printable text holds only spaces; then a value changes only where a space starts or ends it, or two meet.
    A false alarm (an unprintable character, a value holding "| ") only sends the column through the
    per-cell normaliser."""
    text = "|".join(values)
    edges = text.isprintable() and text[:1] != " " and text[-1:] != " " and " |" not in text and "| " not in text
    return edges, edges and "  " not in text


def _where(flags: list[Any]) -> list[int]:
    """Positions whose flag is falsy."""
    return [i for i, flag in enumerate(flags) if not flag]


@functools.cache
def _lines_of(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """`pattern` on every line of a text. Every shape excludes line breaks, so when no cell holds one, the
    column joined by newlines matches this exactly when each cell matches `pattern` alone."""
    return re.compile(rf"(?:{pattern.pattern})(?:\n(?:{pattern.pattern}))*")


def _by_pattern(pattern: re.Pattern[str], values: list[str]) -> list[int]:
    """Positions of the values `pattern` does not match: one match over the whole column when all do (a
    match object per cell costs more than the matching), then cell by cell to find the others."""
    text = "\n".join(values)
    if values and text.count("\n") == len(values) - 1 and _lines_of(pattern).fullmatch(text):
        return []
    matches = list(map(pattern.fullmatch, values))
    return [] if all(matches) else _where(matches)


def _out_of_bounds(col: Column, numbers: list[Any], bad: list[int]) -> list[int]:
    low, high = col.minimum, col.maximum
    if (low is None and high is None) or not numbers:
        return bad
    skip = set(bad)
    found = [
        i
        for i, n in enumerate(numbers)
        if i not in skip and ((low is not None and n < low) or (high is not None and n > high))
    ]
    return sorted(skip.union(found))


def _parser(col: Column) -> Callable[[list[str]], Parsed]:
    """The type check for a column's non-empty values, all at once."""
    kind = col.type
    if kind == "int":
        pattern = shapes.INT

        def ints(values: list[str]) -> Parsed:
            bad = _by_pattern(pattern, values)
            numbers = (
                [int(v) for v in values]
                if not bad
                else [None if i in set(bad) else int(v) for i, v in enumerate(values)]
            )
            return numbers, _out_of_bounds(col, numbers, bad)

        return ints
    if kind == "decimal":
        places = col.places
        pattern = shapes.decimal_with_places(places)

        def decimals(values: list[str]) -> Parsed:
            bad = _by_pattern(pattern, values)
            if col.minimum is not None or col.maximum is not None:
                skip = set(bad)
                numbers = [None if i in skip else Decimal(v) for i, v in enumerate(values)]
                bad = _out_of_bounds(col, numbers, bad)
            return [v.lstrip("+") for v in values], bad

        return decimals
    if kind == "bool":

        def bools(values: list[str]) -> Parsed:
            lowered = list(map(str.lower, values))
            found = list(map(_BOOL_VALUE.get, lowered))
            return found, [] if _BOOLS.issuperset(lowered) else [i for i, f in enumerate(found) if f is None]

        return bools
    if kind == "date":
        pattern = shapes.DATE

        def dates(values: list[str]) -> Parsed:
            bad = _by_pattern(pattern, values)
            skip = set(bad)
            shaped = [v for i, v in enumerate(values) if i not in skip] if bad else values
            try:
                list(map(dt.date.fromisoformat, shaped))
            except ValueError:  # a well-shaped date that does not exist, such as 2023-02-29
                bad = sorted(skip.union(i for i, v in enumerate(values) if i not in skip and not _is_date(v)))
            return values, bad  # the pattern and a successful parse mean each is in ISO form already

        return dates
    if kind == "email":

        def emails(values: list[str]) -> Parsed:
            return values, _by_pattern(shapes.EMAIL, values)

        return emails
    return lambda values: (values, [])


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


_BOOL_VALUE = {**dict.fromkeys(shapes.TRUE, True), **dict.fromkeys(shapes.FALSE, False)}
_BOOLS = frozenset(_BOOL_VALUE)


def fast_column(col: Column, *, is_key: bool = False) -> FastColumn:
    normalize = _normalized(col)
    parse = _parser(col)
    required = col.required or is_key
    allowed = frozenset(col.allowed) | {""} if col.allowed is not None else None
    max_length = col.max_length

    def check(cells: Sequence[str]) -> tuple[list[Any], set[int]]:
        values = normalize(cells)
        suspects: set[int] = set()
        complete = all(values)
        if required and not complete:
            suspects.update(_where(values))
        if max_length is not None and values and max(map(len, values)) > max_length:
            suspects.update(i for i, v in enumerate(values) if len(v) > max_length)
        if allowed is not None and not allowed.issuperset(values):
            suspects.update(i for i, v in enumerate(values) if v not in allowed)
        if "\x00" in "".join(values):
            suspects.update(i for i, v in enumerate(values) if "\x00" in v)
        if complete:
            parsed, bad = parse(values)
            suspects.update(bad)
            return parsed, suspects
        present = list(filter(None, values))
        parsed, bad = parse(present)
        if bad:
            present_at = list(itertools.compress(range(len(values)), values))
            suspects.update(present_at[j] for j in bad)
        if parsed is present:  # text kept as it is: only the empty cells change, to None
            return [v or None for v in values], suspects
        it = iter(parsed)
        return [next(it) if v else None for v in values], suspects

    return check
