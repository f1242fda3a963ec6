"""Import targets: the columns a file may carry, the natural key, and the table the rows go to."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable

import sqlalchemy as sa

from jobdeck import errors
from jobdeck.store.database import Database

#: The value types a column may declare; validate.py turns text into each of them.
TYPES = ("text", "int", "decimal", "bool", "date", "email")

#: Normalisers a column may apply, in order, before it is checked.
NORMALIZERS: dict[str, Callable[[str], str]] = {
    "trim": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "collapse_spaces": lambda value: " ".join(value.split()),
}

#: Tables of every target live here, apart from the ledger's schema, which its migrations own.
metadata = sa.MetaData()


def header_key(name: str) -> str:
    """How headers are compared: case, accents, spaces, underscores, dashes and punctuation do not matter.

    `E-mail Address`, `email_address` and `ÉMAIL ADDRESS` are all `emailaddress`; letters of any script
    and digits are kept, so `電子郵件` stays itself and `Phone 2` is not `Phone`.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if ch.isalnum()).casefold()


@dataclasses.dataclass(frozen=True)
class Column:
    name: str  #: the table column, and the header a file should use
    type: str = "text"  #: one of TYPES
    required: bool = False  #: an empty cell is rejected with `required`
    max_length: int | None = None  #: longer text is rejected with `too_long`
    allowed: tuple[str, ...] | None = None  #: any other value is rejected with `not_allowed`
    normalize: tuple[str, ...] = ("trim",)  #: names from NORMALIZERS, applied in order
    minimum: float | None = None  #: for int and decimal columns
    maximum: float | None = None
    places: int | None = None  #: decimal places a decimal column keeps at most
    aliases: tuple[str, ...] = ()  #: other headers accepted for this column
    label: str = ""  #: shown in the template and in docs; defaults to the name

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name!r}: type must be one of {', '.join(TYPES)}, not {self.type!r}")
        unknown = [n for n in self.normalize if n not in NORMALIZERS]
        if unknown:
            raise ValueError(f"column {self.name!r}: unknown normaliser(s) {', '.join(unknown)}")

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclasses.dataclass(frozen=True)
class Target:
    name: str  #: what `--target` and the import form name
    title: str  #: shown to users: "Contacts"
    columns: tuple[Column, ...]
    key: tuple[str, ...]  #: the natural key: rows with the same key are updated, not added
    table: sa.Table  #: must have a unique constraint or index on the key columns
    description: str = ""
    strict: bool = False  #: a file column that matches no target column is an error, not ignored

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"target {self.name!r}: column names repeat")
        for key in self.key:
            if key not in names:
                raise ValueError(f"target {self.name!r}: key column {key!r} is not a column")
        missing = [n for n in names if n not in self.table.c]
        if missing:
            raise ValueError(f"target {self.name!r}: table {self.table.name} lacks {', '.join(missing)}")
        owners: dict[str, str] = {}
        for col in self.columns:
            for header in col.headers:
                owner = owners.setdefault(header_key(header), col.name)
                if owner != col.name:
                    message = f"the header {header!r} of {col.name!r} reads the same as one of {owner!r}"
                    raise ValueError(f"target {self.name!r}: {message}")

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def key_columns(self) -> tuple[Column, ...]:
        return tuple(self.column(name) for name in self.key)

    def template_csv(self) -> bytes:
        """The header row a file for this target should start with (UTF-8 with BOM, so Excel reads it)."""
        return ("\ufeff" + ",".join(c.name for c in self.columns) + "\r\n").encode("utf-8")


class Targets:
    """The registry of import targets, filled by the modules named in JOBDECK_JOB_MODULES."""

    def __init__(self) -> None:
        self._targets: dict[str, Target] = {}

    def add(self, target: Target) -> Target:
        existing = self._targets.get(target.name)
        if existing is not None and existing != target:
            raise ValueError(f"import target {target.name!r} is registered twice")
        self._targets[target.name] = target
        return target

    def get(self, name: str) -> Target:
        try:
            return self._targets[name]
        except KeyError:
            known = ", ".join(sorted(self._targets)) or "none"
            raise errors.UnknownTarget(f"No import target named {name!r} (known: {known}).") from None

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def all(self) -> list[Target]:
        return sorted(self._targets.values(), key=lambda t: t.title)


#: The registry the service, the web pages and the CLI read.
TARGETS = Targets()


def ensure_tables(db: Database) -> None:
    """Create the tables of the registered targets that do not exist yet (the demo's have no migrations)."""
    # Imported here: the reading child loads this module, and alembic would add its weight to every child.
    from jobdeck.store import migrate

    tables = [t.table for t in TARGETS.all()]
    if tables:
        with db.write() as conn:
            migrate.lock_schema_changes(db, conn)  # workers starting together would race to create them
            for table in tables:
                table.create(conn, checkfirst=True)
