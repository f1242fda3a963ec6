"""Listing jobs: visibility, filters, sorting, keyset pages and the cursors that carry them."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.query import JobFilter, JobQuery
from jobdeck.store import jobs, listing, schema, users
from jobdeck.store.database import Database
from tests.store import ledgers


def make_user(db: Database, name: str) -> int:
    with db.write() as conn:
        return users.create(conn, name, name.title(), "x", is_admin=False).id


def test_listing_for_a_user_shows_only_their_jobs(db: Database) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    jobs.submit(db, jobs.NewJob(type="noop", run_by_id=alice))
    jobs.submit(db, jobs.NewJob(type="noop", run_by_id=bob))
    jobs.submit(db, jobs.NewJob(type="noop"))
    with db.read() as conn:
        page = listing.list_jobs(conn, JobQuery(JobFilter(visible_to=alice)))
        everyone = listing.list_jobs(conn, JobQuery(JobFilter()))
    assert [j.run_by for j in page.items] == ["alice"]
    assert len(everyone.items) == 3


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (JobFilter(tab=model.Tab.IMPORTS), ["import b"]),
        (JobFilter(type="sleep"), ["sleep a"]),
        (JobFilter(run_by="alice"), ["import b"]),
        (JobFilter(q="SLEEP"), ["sleep a"]),
        (JobFilter(q="100%"), []),
        (JobFilter(statuses=(model.Status.QUEUED,)), ["import b", "sleep a", "noop c"]),
        (JobFilter(statuses=(model.Status.FAILED,)), []),
    ],
)
def test_filters_narrow_the_listing(db: Database, flt: JobFilter, expected: list[str]) -> None:
    alice = make_user(db, "alice")
    jobs.submit(db, jobs.NewJob(type="noop", description="noop c"))
    jobs.submit(db, jobs.NewJob(type="sleep", description="sleep a"))
    jobs.submit(db, jobs.NewJob(type="import", tab=model.Tab.IMPORTS, description="import b", run_by_id=alice))
    with db.read() as conn:
        page = listing.list_jobs(conn, JobQuery(flt))
    assert [j.description for j in page.items] == expected


def test_search_by_job_id_finds_that_job(db: Database) -> None:
    ids = jobs.submit_many(db, [jobs.NewJob(type="noop", description="x") for _ in range(3)])
    with db.read() as conn:
        page = listing.list_jobs(conn, JobQuery(JobFilter(q=str(ids[1]))))
    assert [j.id for j in page.items] == [ids[1]]


def test_date_range_filters_on_creation_time(db: Database) -> None:
    jobs.submit(db, jobs.NewJob(type="noop"))
    now = dt.datetime.now(dt.UTC)
    with db.read() as conn:
        inside = listing.list_jobs(conn, JobQuery(JobFilter(created_from=now - dt.timedelta(hours=1))))
        before = listing.list_jobs(conn, JobQuery(JobFilter(created_to=now - dt.timedelta(hours=1))))
    assert len(inside.items) == 1 and before.items == []


@pytest.mark.parametrize("sort", sorted(listing.SORTS))
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_keyset_pages_cover_every_job_once_for_every_sort(db: Database, sort: str, order: str) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    news = [
        jobs.NewJob(type=f"type{i % 3}", description=f"job {i % 4}", run_by_id=[alice, bob, None][i % 3])
        for i in range(23)
    ]
    ids = jobs.submit_many(db, news)
    with db.write() as conn:  # give some jobs start/end/failure times so nullable sorts have both kinds
        ledgers.complete_in_place(conn, ids[::2])
        conn.execute(
            sa.update(schema.jobs).where(schema.jobs.c.id.in_(ids[::5])).values(failed_at=schema.jobs.c.created_at)
        )
    seen: list[int] = []
    cursor = None
    with db.read() as conn:
        while True:
            page = listing.list_jobs(conn, JobQuery(JobFilter(), sort=sort, order=order, limit=4, cursor=cursor))
            seen.extend(j.id for j in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        full = listing.list_jobs(conn, JobQuery(JobFilter(), sort=sort, order=order, limit=100))
    assert sorted(seen) == sorted(ids)
    assert seen == [j.id for j in full.items]


def test_pages_stay_stable_while_new_jobs_arrive(db: Database) -> None:
    first_ids = jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(10)])
    with db.read() as conn:
        page1 = listing.list_jobs(conn, JobQuery(JobFilter(), limit=4))
    jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(5)])  # arrive between pages
    seen = [j.id for j in page1.items]
    cursor = page1.next_cursor
    with db.read() as conn:
        while cursor:
            page = listing.list_jobs(conn, JobQuery(JobFilter(), limit=4, cursor=cursor))
            seen.extend(j.id for j in page.items)
            cursor = page.next_cursor
    assert seen == sorted(first_ids, reverse=True)


def test_an_unknown_sort_column_is_refused(db: Database) -> None:
    with db.read() as conn, pytest.raises(errors.InvalidSort):
        listing.list_jobs(conn, JobQuery(JobFilter(), sort="id; DROP TABLE jobs"))


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4Ijo", "WyJpZCIsImRlc2MiLCJ4Iiw1XQ"])
def test_a_tampered_cursor_is_refused(db: Database, cursor: str) -> None:
    with db.read() as conn, pytest.raises(errors.InvalidCursor):
        listing.list_jobs(conn, JobQuery(JobFilter(), cursor=cursor))


def forged(*fields: object) -> str:
    """A cursor made by hand, the way the store encodes its own."""
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "fields"),
    [
        ("id", ("id", "desc", 2**70, 5)),
        ("id", ("id", "desc", 5, -(2**70))),
        ("type", ("type", "desc", "noop", 2**64)),
        ("type", ("type", "desc", "no\x00op", 5)),
        ("created_at", ("created_at", "desc", "9999-12-31T23:59:59-14:00", 5)),
    ],
)
def test_a_forged_cursor_holding_values_the_database_cannot_take_is_refused(
    db: Database, sort: str, fields: tuple[object, ...]
) -> None:
    jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(2)])
    with db.read() as conn, pytest.raises(errors.InvalidCursor):
        listing.list_jobs(conn, JobQuery(JobFilter(), sort=sort, cursor=forged(*fields)))


def test_a_cursor_from_another_sort_is_refused(db: Database) -> None:
    jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(3)])
    with db.read() as conn:
        page = listing.list_jobs(conn, JobQuery(JobFilter(), sort="type", limit=1))
        assert page.next_cursor
        with pytest.raises(errors.InvalidCursor):
            listing.list_jobs(conn, JobQuery(JobFilter(), sort="id", cursor=page.next_cursor))


def test_date_ranges_select_exactly_the_jobs_created_inside_them(db: Database) -> None:
    ids = jobs.submit_many(db, [jobs.NewJob(type="noop") for _ in range(48)])
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    created = {job_id: base + dt.timedelta(minutes=30 * i) for i, job_id in enumerate(ids)}
    with db.write() as conn:
        for job_id, at in created.items():
            conn.execute(sa.update(schema.jobs).where(schema.jobs.c.id == job_id).values(created_at=at))
    ranges = [
        (base, base + dt.timedelta(hours=3)),
        (base + dt.timedelta(hours=5, minutes=10), base + dt.timedelta(hours=5, minutes=40)),
        (base + dt.timedelta(hours=20), None),
        (None, base + dt.timedelta(minutes=1)),
        (base - dt.timedelta(days=3), base - dt.timedelta(days=2)),
        (base + dt.timedelta(days=2), None),
    ]
    with db.read() as conn:
        for start, end in ranges:
            page = listing.list_jobs(conn, JobQuery(JobFilter(created_from=start, created_to=end), limit=100))
            expected = sorted(
                (i for i, at in created.items() if (start is None or at >= start) and (end is None or at < end)),
                reverse=True,
            )
            assert [j.id for j in page.items] == expected, (start, end)


@pytest.mark.parametrize(
    ("order", "expected"), [("asc", ["", "adam", "adam", "zoe"]), ("desc", ["zoe", "adam", "adam", ""])]
)
def test_sorting_by_run_by_orders_by_username_with_system_jobs_first_ascending(
    db: Database, order: str, expected: list[str]
) -> None:
    zoe, adam = make_user(db, "zoe"), make_user(db, "adam")  # ids in the opposite order of the names
    jobs.submit_many(db, [jobs.NewJob(type="noop", run_by_id=u) for u in (zoe, adam, None, adam)])
    with db.read() as conn:
        page = listing.list_jobs(conn, JobQuery(JobFilter(), sort="run_by", order=order))
    assert [j.run_by or "" for j in page.items] == expected
    ids = [j.id for j in page.items]
    ties = [i for i, j in zip(ids, page.items, strict=True) if j.run_by == "adam"]
    assert ties == sorted(ties, reverse=order == "desc")


@pytest.mark.parametrize("sort", sorted(listing.SORTS))
@pytest.mark.parametrize(
    "flt",
    [JobFilter(tab=model.Tab.GENERAL), JobFilter(statuses=(model.Status.COMPLETED,)), JobFilter(type="type1")],
    ids=["tab", "status", "type"],
)
def test_an_ordinary_users_page_holds_their_jobs_in_the_order_an_admin_sees_them(
    db: Database, sort: str, flt: JobFilter
) -> None:
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    owner = [alice, bob, alice, None, bob]
    news = [jobs.NewJob(type=f"type{i % 2}", description=f"job {i % 3}", run_by_id=owner[i % 5]) for i in range(30)]
    ids = jobs.submit_many(db, news)
    with db.write() as conn:
        ledgers.complete_in_place(conn, ids[::3])
    with db.read() as conn:
        owners = {r.id: r.run_by_id for r in conn.execute(sa.select(schema.jobs.c.id, schema.jobs.c.run_by_id))}
        everyone = listing.list_jobs(conn, JobQuery(flt, sort=sort, limit=100)).items
        mine = listing.list_jobs(conn, JobQuery(dataclasses.replace(flt, visible_to=alice), sort=sort, limit=100)).items
    assert mine
    assert [j.id for j in mine] == [j.id for j in everyone if owners[j.id] == alice]
