"""The description search: a substring, ignoring case, kept in step with every insert, change and delete; a
page of it holds the same jobs in the same order whether the search matches few jobs or many."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jobdeck.query import JobFilter, JobQuery
from jobdeck.store import claim, jobs, listing, schema, search, transitions, users
from jobdeck.store.database import Database
from tests.store import ledgers


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


def make_user(db: Database, name: str) -> int:
    with db.write() as conn:
        return users.create(conn, name, name.title(), "x", is_admin=False).id


def every_page(db: Database, flt: JobFilter, sort: str, order: str) -> list[int]:
    """The ids of every page of a listing, three jobs a page, in the order the pages show them."""
    seen: list[int] = []
    cursor = None
    with db.read() as conn:
        while True:
            page = listing.list_jobs(conn, JobQuery(flt, sort=sort, order=order, limit=3, cursor=cursor))
            seen.extend(j.id for j in page.items)
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor


def mixed_ledger(db: Database) -> tuple[int, int]:
    """Twenty jobs of two users, some finished, half of them holding "report" (in either case): (alice, bob)."""
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    news = [
        jobs.NewJob(
            type=f"type{i % 3}",
            description=f"{['Report', 'export', 'weekly REPORT', 'other'][i % 4]} {i % 5}",
            run_by_id=[alice, bob, None][i % 3],
        )
        for i in range(20)
    ]
    ids = jobs.submit_many(db, news)
    with db.write() as conn:
        ledgers.complete_in_place(conn, ids[::2])
    return alice, bob


@pytest.mark.parametrize("sort", sorted(listing.SORTS))
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_search_pages_the_same_jobs_in_the_same_order_whether_its_matches_are_few_or_many(
    db: Database, monkeypatch: pytest.MonkeyPatch, sort: str, order: str
) -> None:
    mixed_ledger(db)
    flt = JobFilter(q="report")
    as_few = every_page(db, flt, sort, order)
    monkeypatch.setattr(search, "FEW_MATCHES", 2)  # ten matches: now "many", each row tested
    as_many = every_page(db, flt, sort, order)
    everything = every_page(db, JobFilter(), sort, order)
    with db.read() as conn:
        reports = {
            job_id
            for job_id, text in conn.execute(sa.select(schema.jobs.c.id, schema.jobs.c.description))
            if "report" in text.lower()
        }
    assert len(reports) == 10
    assert as_few == as_many == [job_id for job_id in everything if job_id in reports]


@pytest.mark.parametrize(
    ("few_matches", "own_jobs_scanned"), [(2, 0), (search.FEW_MATCHES, search.OWN_JOBS_SCANNED)], ids=["many", "few"]
)
def test_a_search_shows_an_ordinary_user_only_their_own_jobs(
    db: Database, monkeypatch: pytest.MonkeyPatch, few_matches: int, own_jobs_scanned: int
) -> None:
    alice, _ = mixed_ledger(db)
    monkeypatch.setattr(search, "FEW_MATCHES", few_matches)
    monkeypatch.setattr(search, "OWN_JOBS_SCANNED", own_jobs_scanned)  # 0: PostgreSQL's trigram index
    mine = every_page(db, JobFilter(q="report", visible_to=alice), "ended_at", "desc")
    with db.read() as conn:
        owners = {r.id: r.run_by_id for r in conn.execute(sa.select(schema.jobs.c.id, schema.jobs.c.run_by_id))}
        found_text = {j.id: j.description for j in listing.list_jobs(conn, JobQuery(JobFilter(q="report"))).items}
    assert mine and all(owners[job_id] == alice for job_id in mine)
    assert set(mine) == {job_id for job_id in found_text if owners[job_id] == alice}


@pytest.mark.parametrize("few_matches", [0, search.FEW_MATCHES])
def test_a_search_for_a_number_finds_that_job_beside_the_descriptions_holding_it(
    db: Database, monkeypatch: pytest.MonkeyPatch, few_matches: int
) -> None:
    target = submit(db, *(f"filler {i}" for i in range(120)))[-1]  # three digits at least: the trigram path
    (holding,) = submit(db, f"retry of job {target}")
    monkeypatch.setattr(search, "FEW_MATCHES", few_matches)
    assert found(db, str(target)) == [holding, target]


@pytest.mark.parametrize("few_matches", [0, search.FEW_MATCHES])
def test_a_search_matches_letters_beyond_ascii_in_their_own_case_either_way(
    db: Database, monkeypatch: pytest.MonkeyPatch, few_matches: int
) -> None:
    ids = submit(db, "Élan vital", "élan de février", "Elan")
    monkeypatch.setattr(search, "FEW_MATCHES", few_matches)
    assert found(db, "élan de") == [ids[1]]
    # PostgreSQL's lower() folds É; SQLite's LIKE folds ASCII letters only, from the index or not.
    assert found(db, "FÉVRIER") == ([] if db.is_sqlite else [ids[1]])
    assert found(db, "elan") == [ids[2]]
