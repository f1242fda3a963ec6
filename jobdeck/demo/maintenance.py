"""Demo system operations for the Application Maintenance page: export contacts, rebuild their search index."""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
from collections.abc import Iterator

import sqlalchemy as sa

from jobdeck import csvsafe, model
from jobdeck.demo.imports import contacts_table
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type

BATCH_ROWS = 10_000
EXPORT_COLUMNS = ("first_name", "last_name", "email", "phone", "company", "country", "created_on")

#: The demo's search index: one row per word of a contact's name, company and email.
search_terms = sa.Table(
    "demo_contact_search",
    sa.MetaData(),
    sa.Column("term", sa.String(100), nullable=False),
    sa.Column("contact_id", sa.BigInteger, nullable=False),
    sa.Index("ix_demo_contact_search_term", "term"),
)


def _batches(ctx: JobContext, columns: list[sa.Column[object]]) -> Iterator[list[sa.Row[tuple[object, ...]]]]:
    """Contacts in id order, a batch at a time (keyset, so memory stays flat on any table size)."""
    last_id = 0
    while True:
        with ctx.db.read() as conn:
            rows = list(
                conn.execute(
                    sa.select(contacts_table.c.id, *columns)
                    .where(contacts_table.c.id > last_id)
                    .order_by(contacts_table.c.id)
                    .limit(BATCH_ROWS)
                ).all()
            )
        if not rows:
            return
        yield rows  # type: ignore[misc]
        last_id = rows[-1][0]


def _row_range(first: int, count: int) -> str:
    return f"Rows {first:,}\u2013{first + count - 1:,}"  # an en dash, as the import job names chunks


@job_type(
    "export_contacts",
    title="Export contacts to CSV",
    audience="everyone",
    describe=lambda p: "Export every contact to a CSV file",
)
def export_contacts(ctx: JobContext) -> None:
    """Writes every contact to a CSV (cells protected against formulas) and attaches it as an Output File."""
    with ctx.db.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(contacts_table)).scalar_one()
    columns = [contacts_table.c[name] for name in EXPORT_COLUMNS]
    done = 0
    with tempfile.TemporaryFile(prefix="jobdeck-export-") as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
        writer = csvsafe.Writer(text)
        writer.writerow(EXPORT_COLUMNS)
        for rows in _batches(ctx, columns):
            ctx.raise_if_cancelled()
            with ctx.subtask(_row_range(done + 1, len(rows))):
                for row in rows:
                    values: tuple[object, ...] = tuple(row[1:])
                    writer.writerow(None if v is None else str(v) for v in values)
            done += len(rows)
            ctx.progress(done, total)
        text.flush()
        spool.seek(0)
        name = f"contacts-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}.csv"
        ctx.attach(model.FileKind.OUTPUT, name, spool, content_type="text/csv")
        text.detach()
    ctx.log(f"Exported {done:,} contacts")


def _terms(*values: object) -> set[str]:
    words: set[str] = set()
    for value in values:
        if value:
            words.update(w[:100] for w in re.findall(r"\w+", str(value).lower()) if len(w) > 1)
    return words


@job_type(
    "rebuild_contact_index",
    title="Rebuild contact search index",
    describe=lambda p: "Rebuild the contact search index from every contact",
)
def rebuild_contact_index(ctx: JobContext) -> None:
    """Rebuilds the search index batch by batch; each batch's rows commit with its subtask."""
    with ctx.subtask("Clear the index") as sub, sub.transaction() as conn:
        search_terms.create(conn, checkfirst=True)
        conn.execute(sa.delete(search_terms))
    columns = [contacts_table.c[n] for n in ("first_name", "last_name", "email", "company")]
    done = 0
    for rows in _batches(ctx, columns):
        ctx.raise_if_cancelled()
        entries = [{"term": t, "contact_id": row[0]} for row in rows for t in _terms(*row[1:])]
        with ctx.subtask(_row_range(done + 1, len(rows))) as sub, sub.transaction() as conn:
            if entries:
                conn.execute(sa.insert(search_terms), entries)
            sub.message = f"{len(entries):,} terms"
        done += len(rows)
        ctx.progress(done)
    ctx.log(f"Indexed {done:,} contacts")
