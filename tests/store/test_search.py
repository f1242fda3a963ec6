"""The description search: a substring, ignoring case, kept in step with every insert, change and delete."""

from __future__ import annotations

import sqlalchemy as sa

from jobdeck.query import JobFilter, JobQuery
from jobdeck.store import claim, jobs, listing, schema, transitions
from jobdeck.store.database import Database


def found(db: Database, text: str) -> list[int]:
    with db.read() as conn:
        return [j.id for j in listing.list_jobs(conn, JobQuery(JobFilter(q=text))).items]


def submit(db: Database, *descriptions: str) -> list[int]:
    return jobs.submit_many(db, [jobs.NewJob(type="noop", description=d) for d in descriptions])


def test_search_finds_part_of_a_word_ignoring_case(db: Database) -> None:
    ids = submit(db, "Import contacts-2026.csv", "Nightly export", "IMPORT orders.xlsx")
    assert found(db, "import") == [ids[2], ids[0]]
    assert found(db, "ontacts-20") == [ids[0]]
    assert found(db, "no such words") == []


def test_search_reads_like_wildcards_literally(db: Database) -> None:
    ids = submit(db, "100% done", "1000 done", "a_b", "axb", "path/to")
    assert found(db, "100%") == [ids[0]]
    assert found(db, "a_b") == [ids[2]]
    assert found(db, "h/t") == [ids[4]]


def test_search_sees_a_description_a_running_job_changes(db: Database) -> None:
    (job_id,) = submit(db, "Preparing")
    with db.write() as conn:
        (held,) = claim.claim(db, conn, "w1", 1, lease_seconds=30)
        assert transitions.describe(conn, held.lease, "Exporting 5,000 rows")
    assert found(db, "preparing") == []
    assert found(db, "5,000 rows") == [job_id]


def test_search_forgets_deleted_jobs(db: Database) -> None:
    ids = submit(db, "to be purged", "to be kept")
    with db.write() as conn:
        conn.execute(sa.delete(schema.jobs).where(schema.jobs.c.id == ids[0]))
    assert found(db, "to be") == [ids[1]]
