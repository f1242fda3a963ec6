"""Column mapping: which column of a file feeds each column of a target, and how sure that is.

A file's headers are matched in stages, each stage only among what earlier stages left: a user's
mapping, then names equal once normalised (`targets.header_key`), then aliases, then similarity.
A similar name at or above ACCEPT is a decision; below it, down to SUGGEST, only a suggestion.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from rapidfuzz import fuzz, process

from jobdeck import errors
from jobdeck.imports.targets import Column, Target, header_key

#: A similar header at least this close (0 to 1) is matched without asking.
ACCEPT = 0.85
#: A similar header at least this close, but below ACCEPT, is offered as a suggestion.
SUGGEST = 0.6
#: How many file headers an error about a missing column names as the closest.
CLOSEST = 3

How = Literal["user", "exact", "alias", "similar"]


@dataclasses.dataclass(frozen=True)
class Match:
    """One target column and the file column that feeds it (None: no column of the file does)."""

    column: str  #: the target column
    required: bool  #: required, or part of the key
    file_column: str | None = None  #: the header as the file has it
    position: int | None = None  #: 0-based index of that column in a file row
    how: How | None = None
    confidence: float = 0.0  #: 1.0 for user, exact and alias matches; the similarity for a similar one


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A file column that looks like a target column, but not enough to be used without asking."""

    file_column: str
    position: int
    column: str
    confidence: float


@dataclasses.dataclass(frozen=True)
class ColumnMapping:
    """The mapping of one file's header onto one target, with what did not fit."""

    target: str
    matches: tuple[Match, ...]  #: one per target column, in the target's order
    ignored: tuple[str, ...] = ()  #: file columns no target column takes
    errors: tuple[str, ...] = ()  #: what stops the import (a required column unmatched, say)
    suggestions: tuple[Suggestion, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def match(self, column: str) -> Match:
        for found in self.matches:
            if found.column == column:
                return found
        raise KeyError(column)

    def as_user_mapping(self) -> dict[str, str]:
        """The file column -> target column pairs in use: what a user would send to get this mapping again."""
        return {m.file_column: m.column for m in self.matches if m.file_column is not None}


def check_user_mapping(target: Target, header: Sequence[str], user: Mapping[str, str | None]) -> dict[int, str | None]:
    """A user's mapping (file column -> target column, or None to leave the file column out) by position.

    Every problem is named at once: a file column the header lacks, a target column the target lacks,
    and a target column given two file columns.
    """
    names = {c.name for c in target.columns}
    exact = {cell: i for i, cell in reversed(list(enumerate(header))) if cell}
    loose = {header_key(cell): i for i, cell in reversed(list(enumerate(header))) if header_key(cell)}
    chosen: dict[int, str | None] = {}
    problems: list[str] = []
    taken: dict[str, str] = {}
    for file_column, column in user.items():
        at = exact.get(file_column, loose.get(header_key(file_column)))
        if at is None:
            problems.append(f"the file has no column {file_column!r}")
            continue
        if at in chosen:
            problems.append(f"the file column {header[at]!r} is named twice")
            continue
        if column is not None and column not in names:
            problems.append(f"{target.title} has no column {column!r} (its columns: {', '.join(sorted(names))})")
            continue
        if column is not None and column in taken:
            problems.append(f"{column!r} is mapped twice, from {taken[column]!r} and {file_column!r}")
            continue
        if column is not None:
            taken[column] = file_column
        chosen[at] = column
    if problems:
        raise errors.InvalidParams("The column mapping is not valid: " + "; ".join(problems) + ".")
    return chosen


@functools.lru_cache(maxsize=256)
def _alias_keys(columns: tuple[Column, ...]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Every normalised name and alias of these columns, and the index of the column each belongs to."""
    pairs = [(header_key(header), n) for n, col in enumerate(columns) for header in col.headers]
    return tuple(key for key, _ in pairs), tuple(n for _, n in pairs)


class _Matcher:
    """One pass over a header: stages fill `found` (target column -> (position, how, confidence))."""

    def __init__(self, target: Target, header: Sequence[str]) -> None:
        self.target = target
        self.header = list(header)
        self.keys = [header_key(cell) for cell in self.header]
        self.found: dict[str, tuple[int, How, float]] = {}
        self.used: set[int] = set()
        self.left_out: set[int] = set()  #: file columns a user mapped to nothing
        self.problems: list[str] = []

    def free(self) -> list[int]:
        return [i for i, key in enumerate(self.keys) if key and i not in self.used and i not in self.left_out]

    def user(self, chosen: dict[int, str | None]) -> None:
        for at, column in chosen.items():
            if column is None:
                self.left_out.add(at)
            else:
                self.found[column] = (at, "user", 1.0)
                self.used.add(at)

    def equal(self, how: How, headers_of: Callable[[Column], Sequence[str]]) -> None:
        """Match headers equal, once normalised, to one of `headers_of(column)`; two claimants are a problem."""
        open_columns = [c for c in self.target.columns if c.name not in self.found]
        for col in open_columns:
            wanted = {header_key(h) for h in headers_of(col)}
            claimants = [i for i in self.free() if self.keys[i] in wanted]
            if len(claimants) > 1:
                shown = " and ".join(f"{self.header[i]!r} (column {i + 1})" for i in claimants)
                self.problems.append(f"Both {shown} could be {col.name!r}: choose one in the mapping.")
                self.used.update(claimants)
            elif claimants:
                self.found[col.name] = (claimants[0], how, 1.0)
                self.used.add(claimants[0])

    def similar(self) -> list[Suggestion]:
        """Best pairs first: a pair at or above ACCEPT is a match, one down to SUGGEST a suggestion."""
        open_columns = tuple(c for c in self.target.columns if c.name not in self.found)
        keys, owners = _alias_keys(open_columns)
        best: dict[tuple[int, int], float] = {}
        for i in self.free():
            # One call per file column, in C++: only the names and aliases at least SUGGEST alike come back.
            for _key, score, at in process.extract(
                self.keys[i], keys, scorer=fuzz.ratio, score_cutoff=SUGGEST * 100, limit=None
            ):
                pair = (i, owners[at])
                best[pair] = max(best.get(pair, 0.0), score / 100)
        suggestions: list[Suggestion] = []
        for (i, n), score in sorted(best.items(), key=lambda p: (-p[1], p[0])):
            col = open_columns[n]
            if i in self.used or col.name in self.found:
                continue
            if score >= ACCEPT:
                self.found[col.name] = (i, "similar", round(score, 3))
                self.used.add(i)
            elif not any(s.column == col.name or s.position == i for s in suggestions):
                suggestions.append(Suggestion(self.header[i], i, col.name, round(score, 3)))
        return suggestions


def closest_headers(header: Sequence[str], column: Column, limit: int = CLOSEST) -> list[str]:
    """The file headers that read most like a column's name or aliases, closest first."""
    named = {i: header_key(cell) for i, cell in enumerate(header) if header_key(cell)}
    best: dict[int, float] = {}
    for alias in column.headers:
        for _key, score, i in process.extract(header_key(alias), named, scorer=fuzz.ratio, limit=limit):
            best[i] = max(best.get(i, 0.0), score)
    ranked = sorted(best, key=lambda i: (-best[i], i))[:limit]
    return [header[i] for i in ranked]


def match_columns(target: Target, header: Sequence[str], user: Mapping[str, str | None] | None = None) -> ColumnMapping:
    """Map a file's header onto a target. A user's mapping wins; its mistakes raise InvalidParams."""
    matcher = _Matcher(target, header)
    if user:
        matcher.user(check_user_mapping(target, header, user))
    matcher.equal("exact", lambda col: (col.name,))
    matcher.equal("alias", lambda col: col.aliases)
    suggestions = matcher.similar()
    matches = []
    for col in target.columns:
        required = col.required or col.name in target.key
        if col.name in matcher.found:
            at, how, confidence = matcher.found[col.name]
            matches.append(Match(col.name, required, matcher.header[at], at, how, confidence))
        else:
            matches.append(Match(col.name, required))
    ignored = [matcher.header[i] for i in matcher.free()] + [matcher.header[i] for i in sorted(matcher.left_out)]
    problems = list(matcher.problems)
    for found in matches:
        if found.required and found.file_column is None:
            col = target.column(found.column)
            closest = closest_headers([matcher.header[i] for i in matcher.free()], col)
            hint = f"; the closest file columns are {', '.join(map(repr, closest))}" if closest else ""
            problems.append(f"The required column {found.column!r} matches no column of the file{hint}.")
    if target.strict and matcher.free():
        extra = ", ".join(repr(matcher.header[i]) for i in matcher.free())
        problems.append(f"{target.title} takes no other columns, and the file has {extra}.")
    return ColumnMapping(
        target=target.name,
        matches=tuple(matches),
        ignored=tuple(ignored),
        errors=tuple(problems),
        suggestions=tuple(s for s in suggestions if s.column not in matcher.found and s.position not in matcher.used),
    )


def header_score(target: Target, header: Sequence[str]) -> float:
    """How well a row reads as the target's header: the summed confidence of its automatic matches (the
    errors and hints `match_columns` adds are not needed to compare rows)."""
    matcher = _Matcher(target, header)
    matcher.equal("exact", lambda col: (col.name,))
    matcher.equal("alias", lambda col: col.aliases)
    matcher.similar()
    return sum(confidence for _at, _how, confidence in matcher.found.values())


def require(mapping: ColumnMapping) -> None:
    """Stop before any row is read when the mapping has errors, naming them all."""
    if mapping.errors:
        raise errors.ImportRejected(" ".join(mapping.errors))


def positions(mapping: ColumnMapping) -> list[int | None]:
    """For each target column, in the target's order, its index in a file row (None: not in the file)."""
    return [m.position for m in mapping.matches]


def used_columns(target: Target, mapping: ColumnMapping) -> tuple[list[Column], list[int]]:
    """The matched target columns, in the target's order, and the index in a file row of each: what the row
    check (`validate.RowChecker(target, columns)`) and the writer take."""
    pairs = [(target.column(m.column), m.position) for m in mapping.matches if m.position is not None]
    return [c for c, _ in pairs], [at for _, at in pairs]


def picker(indexes: Sequence[int]) -> Callable[[Sequence[str]], list[str]]:
    """A function taking a file row to the cells at `indexes`, in that order; a short row reads as empty cells."""
    if not indexes:
        return lambda cells: []
    width = max(indexes) + 1
    get = operator.itemgetter(*indexes)
    if len(indexes) == 1:
        only = indexes[0]

        def pick_one(cells: Sequence[str]) -> list[str]:
            return [cells[only] if len(cells) > only else ""]

        return pick_one

    def pick(cells: Sequence[str]) -> list[str]:
        if len(cells) < width:
            cells = list(cells) + [""] * (width - len(cells))
        return list(get(cells))

    return pick
