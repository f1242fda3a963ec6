"""One cell of a column: normalised, checked (presence, length, allowed values, NUL) and parsed into the value
the database stores, or `Invalid` with the error report's code and message. The row-by-row path of validate.py
uses these; fast.py checks whole columns at once and must give the same answers
(tests/imports/test_properties.py holds the two together)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from jobdeck.imports import shapes, targets
from jobdeck.imports.targets import Column


class Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _normalizer(col: Column) -> Callable[[str], str]:
    steps = [targets.NORMALIZERS[name] for name in col.normalize]
    if steps == [str.strip]:
        return str.strip
    if not steps:
        return str

    def normalize(value: str) -> str:
        for step in steps:
            value = step(value)
        return value

    return normalize


def _parse(col: Column) -> Callable[[str], Any]:
    """The type check for one column: text in, the value the database stores out, or Invalid."""
    kind = col.type
    if kind == "int":

        def parse_int(v: str) -> int:
            if not shapes.INT.fullmatch(v):
                raise Invalid("bad_int", f"{col.name} must be a whole number")
            number = int(v)
            _bounded(col, number)
            return number

        return parse_int
    if kind == "decimal":

        def parse_decimal(v: str) -> str:
            m = shapes.DECIMAL.fullmatch(v)
            if not m:
                raise Invalid("bad_decimal", f"{col.name} must be a number such as 12.50")
            places = len(m.group(1) or m.group(2) or "")
            if col.places is not None and places > col.places:
                raise Invalid("bad_decimal", f"{col.name} has more than {col.places} decimal places")
            try:
                _bounded(col, Decimal(v))
            except InvalidOperation:
                raise Invalid("bad_decimal", f"{col.name} must be a number such as 12.50") from None
            return v.lstrip("+")

        return parse_decimal
    if kind == "bool":

        def parse_bool(v: str) -> bool:
            lower = v.lower()
            if lower in shapes.TRUE:
                return True
            if lower in shapes.FALSE:
                return False
            raise Invalid("bad_bool", f"{col.name} must be true or false (yes/no, y/n, 1/0)")

        return parse_bool
    if kind == "date":

        def parse_date(v: str) -> str:
            try:
                if not shapes.DATE.fullmatch(v):
                    raise ValueError(v)
                return dt.date.fromisoformat(v).isoformat()
            except ValueError:
                raise Invalid("bad_date", f"{col.name} must be a date written as YYYY-MM-DD") from None

        return parse_date
    if kind == "email":

        def parse_email(v: str) -> str:
            if not shapes.EMAIL.fullmatch(v):
                raise Invalid("bad_email", f"{col.name} must be an email address")
            return v

        return parse_email
    return lambda v: v


def _bounded(col: Column, number: Any) -> Any:
    if col.minimum is not None and number < col.minimum:
        raise Invalid("too_small", f"{col.name} must be at least {col.minimum:g}")
    if col.maximum is not None and number > col.maximum:
        raise Invalid("too_large", f"{col.name} must be at most {col.maximum:g}")
    return number


def converter(col: Column, *, is_key: bool = False) -> Callable[[str], Any]:
    """Normalise, check presence, length and allowed values, then parse: one closure per column."""
    normalize = _normalizer(col)
    parse = _parse(col)
    required, max_length = col.required or is_key, col.max_length
    allowed = frozenset(col.allowed) if col.allowed is not None else None
    shown = ", ".join(col.allowed[:20]) if col.allowed else ""

    def convert(cell: str) -> Any:
        value = normalize(cell)
        if not value:
            if required:
                raise Invalid("required", f"{col.name} is required")
            return None
        if max_length is not None and len(value) > max_length:
            raise Invalid("too_long", f"{col.name} is {len(value):,} characters long; the maximum is {max_length:,}")
        if allowed is not None and value not in allowed:
            raise Invalid("not_allowed", f"{col.name} must be one of: {shown}")
        if "\x00" in value:
            raise Invalid("bad_text", f"{col.name} contains a NUL character")
        return parse(value)

    return convert
