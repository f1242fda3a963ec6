"""What a cell of each column type looks like: the one definition both checking paths use.

cells.py checks one cell at a time and names the problem; fast.py checks a whole column at once and names only
the suspects. Both read these shapes, so a change to what counts as a whole number, a date, a decimal, a
boolean or an email address is made once.
"""

from __future__ import annotations

import re

#: A whole number a BIGINT holds comfortably (at most 18 digits).
INT = re.compile(r"[+-]?\d{1,18}")
#: A date written as YYYY-MM-DD (whether the day exists is checked by parsing it).
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: A decimal number; group 1 or 2 holds its decimal places.
DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.(\d*))?|\.(\d+))")
#: An email address: one @, a dot in the domain, none of the characters that separate addresses.
EMAIL = re.compile(r"[^@\s\"<>(),;:]+@[^@\s\"<>(),;:]+\.[^@\s\"<>(),;:.]+")
#: Spellings of true and false a bool column accepts, in any case.
TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
FALSE = frozenset({"false", "f", "no", "n", "0", "off"})


def decimal_with_places(places: int | None) -> re.Pattern[str]:
    """DECIMAL with at most `places` decimal places (any number when None)."""
    frac = r"\d*" if places is None else rf"\d{{0,{places}}}"
    lead = r"|\.\d+" if places is None else (rf"|\.\d{{1,{places}}}" if places > 0 else "")
    return re.compile(rf"[+-]?(?:\d+(?:\.{frac})?{lead})")
