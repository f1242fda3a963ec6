"""Grid benchmark: the list API's latency over a big ledger (1,000,000 jobs from 1,000 users by default).

    .venv/bin/python bench/grid.py                             # SQLite and a throwaway PostgreSQL
    .venv/bin/python bench/grid.py --backend sqlite --jobs 200000
    .venv/bin/python bench/grid.py --database-url postgresql://user@host/db   # an existing (emptied) database
    .venv/bin/python bench/grid.py --backend sqlite --sqlite-file grid.db --reuse --only sort=,q=   # refill only once

Rows go in with one executemany per 50,000 (SQLite, its indexes built after the load) or COPY (PostgreSQL), then
`GET /api/v1/jobs` is timed in process (TestClient, bearer token): for an admin and an ordinary user, each tab,
the first page and a page deep in the list (a keyset cursor at the middle of what that caller sees), with and
without filters.
Figures are printed, never asserted: this is not a test.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import pathlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import rich.console  # noqa: E402
import rich.table  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from jobdeck import passwords, settings  # noqa: E402
from jobdeck.service import Service  # noqa: E402
from jobdeck.store import migrate  # noqa: E402
from jobdeck.store.database import Database  # noqa: E402
from jobdeck.web.app import create_app  # noqa: E402
from jobdeck.wiring import Wiring  # noqa: E402

PASSWORD = "bench password 1"
BATCH = 50_000
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
#: (type, tab, share of all jobs)
TYPES = [("sleep", "general", 0.35), ("noop", "general", 0.25), ("fail", "general", 0.10), ("import", "imports", 0.30)]
#: (status, share): mostly finished jobs, as a real ledger is
STATUSES = [("completed", 0.86), ("failed", 0.09), ("cancelled", 0.03), ("queued", 0.01), ("in_progress", 0.01)]
#: The grid's sorts (store.jobs.SORTS but id, the default order every other row already times).
SORTS = ["type", "description", "status", "created_at", "started_at", "ended_at", "failed_at", "run_by"]
#: Words of descriptions: many matches, a rare one, one that matches nothing.
SEARCHES = ["sleep #77", "#123456", "no such job"]
#: The same on the Imports tab: a word in every description, a rare file name, nothing.
IMPORT_SEARCHES = ["imported", "contacts-123456.csv", "no such file"]
COLUMNS = [
    "id", "type", "tab", "description", "status", "params", "run_by_id", "run_at", "queue", "priority", "attempt",
    "max_attempts", "created_at", "started_at", "ended_at", "failed_at", "error", "progress_done", "progress_total",
    "cancel_requested", "run_by_name",
]  # fmt: skip


def _pick(options: list[tuple[Any, ...]], roll: float) -> tuple[Any, ...]:
    total = 0.0
    for option in options:
        total += option[-1]
        if roll < total:
            return option
    return options[-1]


def job_rows(count: int, users: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """Jobs in id order, created a few seconds apart over the months, by random users (user 1 is the admin)."""
    rnd = random.Random(seed)
    for i in range(1, count + 1):
        job_type, tab, _ = _pick(TYPES, rnd.random())
        status, _ = _pick(STATUSES, rnd.random())
        created = START + dt.timedelta(seconds=i * 5)
        started = created + dt.timedelta(seconds=1) if status != "queued" else None
        ended = started + dt.timedelta(seconds=rnd.randint(1, 600)) if started and status != "in_progress" else None
        failed = ended if status == "failed" else None
        description = f"contacts-{i}.csv: {rnd.randint(0, 5000)} imported" if tab == "imports" else f"{job_type} #{i}"
        run_by = rnd.randint(1, users)
        yield (
            i, job_type, tab, description, status, "{}", run_by, "/settings/maintenance", "default",
            0, 1, 1, created, started, ended, failed, "boom" if failed else None, 1, 1, False, _username(run_by),
        )  # fmt: skip


def _username(n: int) -> str:
    """User n's username: the same in the users rows and in the jobs' copy of it."""
    return f"user{n:04d}"


def _sqlite_time(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if value else None


def fill(db: Database, jobs: int, users: int, seed: int) -> float:
    """Insert the users and jobs; returns the seconds it took."""
    started = time.perf_counter()
    password_hash = passwords.hash_password(PASSWORD)
    user_rows = [(n, _username(n), f"User {n}", password_hash, n == 1, False, 0, START) for n in range(1, users + 1)]
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.is_sqlite:
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(
                "INSERT INTO users (id, username, display_name, password_hash, is_admin, disabled, failed_logins, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*u[:-1], _sqlite_time(u[-1])) for u in user_rows],
            )
            # Indexes and the search table's triggers are dropped for the load and built again after it:
            # one sort per index instead of a million random inserts into each (minutes on a slow disk).
            derived = cur.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'jobs' AND sql IS NOT NULL "
                "AND type IN ('index', 'trigger')"
            ).fetchall()
            for kind, name, _ in derived:
                cur.execute(f'DROP {kind.upper()} "{name}"')
            insert = f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            batch: list[tuple[Any, ...]] = []
            for row in job_rows(jobs, users, seed):
                batch.append((*row[:12], *(_sqlite_time(v) for v in row[12:16]), *row[16:]))
                if len(batch) == BATCH:
                    cur.executemany(insert, batch)
                    batch.clear()
            cur.executemany(insert, batch)
            for _, _, sql in derived:
                cur.execute(sql)
            cur.execute("INSERT INTO jobs_search(jobs_search) VALUES ('rebuild')")
            cur.execute("COMMIT")  # no ANALYZE: jobdeck never runs it, so a SQLite ledger has no statistics
        else:
            with cur.copy(  # type: ignore[attr-defined]
                "COPY users (id, username, display_name, password_hash, is_admin, disabled, failed_logins, "
                "created_at) FROM STDIN"
            ) as copy:
                for u in user_rows:
                    copy.write_row(u)
            with cur.copy(f"COPY jobs ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in job_rows(jobs, users, seed):
                    copy.write_row(row)
            cur.execute("SELECT setval('users_id_seq', %s)", (users,))
            cur.execute("SELECT setval('jobs_id_seq', %s)", (jobs,))
            cur.execute("ANALYZE users")
            cur.execute("ANALYZE jobs")
            raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def cursor_at(db: Database, where: str, params: dict[str, Any]) -> str:
    """A keyset cursor (newest first, by id) at the middle of a listing: the page a user reaches by paging deep."""
    with db.read() as conn:
        total = conn.execute(sa.text(f"SELECT count(*) FROM jobs WHERE {where}"), params).scalar_one()
        middle = conn.execute(
            sa.text(f"SELECT id FROM jobs WHERE {where} ORDER BY id DESC LIMIT 1 OFFSET :skip"),
            {**params, "skip": max(0, total // 2)},
        ).scalar_one()
    raw = json.dumps(["id", "desc", middle, middle], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def measure(
    client: TestClient, headers: dict[str, str], params: dict[str, Any], repeat: int
) -> tuple[float, float, int]:
    for _ in range(3):
        client.get("/api/v1/jobs", params=params, headers=headers)
    times = []
    count = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get("/api/v1/jobs", params=params, headers=headers)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.text
        count = len(response.json()["items"])
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], count


def scenarios(db: Database, user_id: int) -> Iterator[tuple[str, str, str, str, dict[str, Any]]]:
    """(who, tab, filter, depth, params) for every row of the table."""
    month_later = (START + dt.timedelta(days=30)).isoformat()
    for who in ("admin", "user"):
        mine = "" if who == "admin" else f" AND run_by_id = {user_id}"
        for tab in ("general", "imports"):
            filters: list[tuple[str, dict[str, Any], str]] = [
                ("none", {}, ""),
                ("status=failed", {"status": "failed"}, " AND status = 'failed'"),
                (
                    "type",
                    {"type": "sleep" if tab == "general" else "import"},
                    f" AND type = '{'sleep' if tab == 'general' else 'import'}'",
                ),
                ("from/to 30 days", {"from": START.isoformat(), "to": month_later}, ""),
            ]
            if who == "admin":
                filters.append(("run_by", {"run_by": f"user{user_id:04d}"}, f" AND run_by_id = {user_id}"))
            for label, extra, sql in filters:
                base = {"tab": tab, "limit": 50, **extra}
                yield who, tab, label, "first", base
                if label.startswith("from/to"):
                    continue
                where = f"tab = :tab{mine}{sql}"
                yield who, tab, label, "deep", {**base, "cursor": cursor_at(db, where, {"tab": tab})}
        for tab, searches in (("general", SEARCHES), ("imports", IMPORT_SEARCHES)):
            for sort in SORTS:
                for order in ("desc", "asc"):
                    params = {"tab": tab, "limit": 50, "sort": sort, "order": order}
                    yield who, tab, f"sort={sort} {order}", "first", params
            for text in searches:
                for sort in ("id", "ended_at"):
                    params = {"tab": tab, "limit": 50, "q": text, "sort": sort}
                    yield who, tab, f"q={text} sort={sort}", "first", params


def run(url: str, backend: str, args: argparse.Namespace, console: rich.console.Console) -> list[list[str]]:
    db = Database(url, pool_size=4)
    migrate.upgrade(db)
    with db.read() as conn:
        held = conn.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one()
    if args.reuse and held == args.jobs:
        console.print(f"[{backend}] reusing the {held:,} jobs already there")
    else:
        seconds = fill(db, args.jobs, args.users, args.seed)
        console.print(f"[{backend}] inserted {args.jobs:,} jobs from {args.users:,} users in {seconds:.1f} s")
    config = settings.load(database_url=url, workers=0, data_dir=pathlib.Path(args.tmp))
    service = Service(Wiring(config, db=db))
    client = TestClient(create_app(service))
    tokens = {}
    for who, name in (("admin", _username(1)), ("user", _username(args.user))):
        response = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        tokens[who] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    out = []
    for who, tab, label, depth, params in scenarios(db, args.user):
        if args.only and not any(part in label for part in args.only.split(",")):
            continue
        p50, p95, count = measure(client, tokens[who], params, args.repeat)
        out.append([backend, who, tab, label, depth, str(count), f"{p50:.1f}", f"{p95:.1f}"])
        console.print(" ".join(out[-1]))  # as it goes: a long run shows its rows before the table
    db.dispose()
    return out


@contextlib.contextmanager
def postgres(args: argparse.Namespace) -> Iterator[str]:
    if args.database_url and args.reuse:
        yield args.database_url
        return
    if args.database_url:
        engine = sa.create_engine(Database(args.database_url).url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        engine.dispose()
        yield args.database_url
        return
    from tests import pgserver

    with pgserver.running() as server:
        yield server.create_database("bench_grid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--user", type=int, default=42, help="the ordinary user whose view is timed")
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per row")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--database-url", help="an existing PostgreSQL database to empty and use")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite-file", help="the SQLite file to fill (default: a temporary one)")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the jobs in --sqlite-file or --database-url when they number --jobs"
    )
    parser.add_argument("--only", help="time only the rows whose filter holds one of these comma-separated words")
    args = parser.parse_args()
    console = rich.console.Console(width=150)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="jobdeck-grid-") as tmp:
        args.tmp = tmp
        if args.backend in ("sqlite", "both"):
            path = args.sqlite_file or f"{tmp}/grid.sqlite3"
            rows += run(f"sqlite:///{path}", "sqlite", args, console)
        if args.backend in ("postgresql", "both"):
            with postgres(args) as url:
                rows += run(url, "postgresql", args, console)
    table = rich.table.Table(title=f"GET /api/v1/jobs over {args.jobs:,} jobs from {args.users:,} users (ms)")
    for name in ("backend", "caller", "tab", "filter", "page", "rows", "p50", "p95"):
        table.add_column(name, justify="right" if name in ("rows", "p50", "p95") else "left")
    for r in rows:
        table.add_row(*r)
    console.print(table)


if __name__ == "__main__":
    main()
