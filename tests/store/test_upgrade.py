"""Upgrades keep data: a database written at the first released schema is upgraded to head and still works.

The rows are written with tables reflected from the database at revision 0001 (not with today's schema.py), the
way the first release wrote them: users with their argon2 hashes, an API token, jobs in every state with their
subtasks, log lines and files, and rows an import wrote into the application's table. After the upgrade the
same process entry point a server uses opens the database, and every one of those things is read back through
the HTTP API and the CLI, and a job that was queued before the upgrade runs after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import argon2
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

import jobdeck.demo  # noqa: F401 (registers the demo's import targets and their tables)
from jobdeck import settings
from jobdeck.imports import targets
from jobdeck.service import Service
from jobdeck.store import migrate
from jobdeck.store.database import Database
from jobdeck.web.app import create_app

FIRST_RELEASE = "0001"
PASSWORDS = {"ada": "correct horse battery", "alice": "alice's long password", "bob": "bob's long password"}
INPUT_CSV = b"first_name,last_name,email\nAda,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n"
TOKEN = "jdt_first_release_token_0123456789abcdef"
NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def old_database_url(fresh_database_url: str) -> str:
    """An empty database of its own, for the first release to write."""
    return fresh_database_url


def _hash(password: str) -> str:
    # A real argon2id hash; cheap parameters keep the test fast (they are stored in the hash itself).
    return argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password)


def _write_first_release_data(db: Database) -> dict[str, Any]:
    """Rows of every kind, written against the reflected 0001 tables; returns the ids the checks need."""
    meta = sa.MetaData()
    meta.reflect(db.engine)
    t = meta.tables
    ids: dict[str, Any] = {}
    with db.engine.begin() as conn:
        for name, admin in (("ada", True), ("alice", False), ("bob", False)):
            ids[name] = conn.execute(
                sa.insert(t["users"])
                .values(
                    username=name,
                    display_name=name.capitalize(),
                    password_hash=_hash(PASSWORDS[name]),
                    is_admin=admin,
                    disabled=False,
                    failed_logins=0,
                    created_at=NOW,
                )
                .returning(t["users"].c.id)
            ).scalar_one()
        conn.execute(
            sa.insert(t["api_tokens"]).values(
                user_id=ids["alice"],
                token_hash=hashlib.sha256(TOKEN.encode()).hexdigest(),
                name="first release",
                created_at=NOW,
                expires_at=NOW + dt.timedelta(days=3650),
            )
        )

        def job(**values: Any) -> int:
            row = {
                "tab": "general",
                "params": {},
                "queue": "default",
                "priority": 0,
                "attempt": 1,
                "max_attempts": 1,
                "created_at": NOW,
                "progress_done": 0,
                "cancel_requested": False,
                **values,
            }
            return int(conn.execute(sa.insert(t["jobs"]).values(**row).returning(t["jobs"].c.id)).scalar_one())

        ids["import"] = job(
            type="import",
            tab="imports",
            description="contacts.csv into Contacts",
            status="completed",
            params={"target": "contacts", "filename": "contacts.csv", "on_error": "skip", "dry_run": False},
            run_by_id=ids["alice"],
            run_at="Settings / Imports",
            max_attempts=3,
            started_at=NOW,
            ended_at=NOW + dt.timedelta(seconds=3),
            progress_done=2,
            progress_total=2,
        )
        ids["failed"] = job(
            type="t_fail_always",
            description="Fail always",
            status="failed",
            run_by_id=ids["bob"],
            started_at=NOW,
            ended_at=NOW + dt.timedelta(seconds=1),
            failed_at=NOW + dt.timedelta(seconds=1),
            error="ValueError: this job always fails",
        )
        ids["queued"] = job(
            type="t_echo",
            description="Echo from the first release",
            status="queued",
            params={"text": "from the first release"},
            run_by_id=ids["alice"],
        )
        conn.execute(
            sa.insert(t["subtasks"]),
            [
                {"job_id": ids["import"], "seq": 1, "name": "Rows 1\u20132", "status": "completed", "started_at": NOW},
                {"job_id": ids["import"], "seq": 2, "name": "Report", "status": "completed", "started_at": NOW},
            ],
        )
        conn.execute(sa.insert(t["job_log"]).values(job_id=ids["import"], at=NOW, level="info", message="Read 2 rows"))
        conn.execute(sa.insert(t["file_blobs"]).values(storage_key="firstreleaseinput", seq=0, data=INPUT_CSV))
        ids["file"] = conn.execute(
            sa.insert(t["job_files"])
            .values(
                job_id=ids["import"],
                kind="input",
                name="contacts.csv",
                content_type="text/csv",
                size=len(INPUT_CSV),
                sha256=hashlib.sha256(INPUT_CSV).hexdigest(),
                storage_key="firstreleaseinput",
                created_at=NOW,
            )
            .returning(t["job_files"].c.id)
        ).scalar_one()
    # The application's own table, as the first release's import wrote it.
    targets.ensure_tables(db)
    contacts = sa.Table("demo_contacts", sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(contacts),
            [
                {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
                {"first_name": "Alan", "last_name": "Turing", "email": "alan@example.com"},
            ],
        )
    return ids


@pytest.fixture
def upgraded(old_database_url: str, tmp_path: pathlib.Path) -> Iterator[tuple[Service, dict[str, Any], str]]:
    db = Database(old_database_url)
    migrate.upgrade(db, FIRST_RELEASE)
    ids = _write_first_release_data(db)
    db.dispose()
    config = settings.load(
        database_url=old_database_url,
        data_dir=tmp_path / "data",
        file_storage="database",
        workers=0,
        job_modules="jobdeck.demo,tests.kinds",
    )
    service = Service.open(config)  # what `jobdeck serve` does: upgrades an older schema on start
    yield service, ids, old_database_url
    service.close()


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_an_upgraded_database_is_at_the_newest_revision(upgraded: tuple[Service, dict[str, Any], str]) -> None:
    service, _, _ = upgraded
    assert migrate.current(service.db) == migrate.head()
    migrate.check(service.db)


def test_users_sign_in_with_the_passwords_they_had(upgraded: tuple[Service, dict[str, Any], str]) -> None:
    service, _, _ = upgraded
    client = TestClient(create_app(service), follow_redirects=False)
    for name in PASSWORDS:
        me = client.get("/api/v1/me", headers=_token(client, name))
        assert me.status_code == 200, me.text
        assert me.json()["username"] == name


def test_an_api_token_issued_before_the_upgrade_still_works(upgraded: tuple[Service, dict[str, Any], str]) -> None:
    service, ids, _ = upgraded
    client = TestClient(create_app(service), follow_redirects=False)
    listing = client.get("/api/v1/jobs?tab=imports", headers={"Authorization": f"Bearer {TOKEN}"})
    assert listing.status_code == 200, listing.text
    assert [job["id"] for job in listing.json()["items"]] == [ids["import"]]


def test_jobs_keep_their_owners_subtasks_log_and_files(upgraded: tuple[Service, dict[str, Any], str]) -> None:
    service, ids, _ = upgraded
    client = TestClient(create_app(service), follow_redirects=False)
    alice = _token(client, "alice")
    detail = client.get(f"/api/v1/jobs/{ids['import']}", headers=alice)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["status"] == "completed"
    assert [s["name"] for s in body["subtasks"]] == ["Rows 1\u20132", "Report"]
    assert [f["name"] for f in body["files"]] == ["contacts.csv"]
    download = client.get(f"/api/v1/jobs/{ids['import']}/files/{ids['file']}", headers=alice)
    assert download.status_code == 200
    assert download.content == INPUT_CSV
    # The visibility rule holds over the old rows: bob's failed job is not alice's to see; the admin sees it.
    assert client.get(f"/api/v1/jobs/{ids['failed']}", headers=alice).status_code == 404
    ada = client.get(f"/api/v1/jobs/{ids['failed']}", headers=_token(client, "ada"))
    assert ada.status_code == 200
    assert ada.json()["status"] == "failed"


def test_rows_an_import_wrote_are_kept(upgraded: tuple[Service, dict[str, Any], str]) -> None:
    service, _, _ = upgraded
    contacts = sa.Table("demo_contacts", sa.MetaData(), autoload_with=service.db.engine)
    with service.db.engine.connect() as conn:
        emails = conn.execute(sa.select(contacts.c.email).order_by(contacts.c.email)).scalars().all()
    assert emails == ["ada@example.com", "alan@example.com"]


@pytest.mark.slow
def test_a_job_queued_before_the_upgrade_runs_after_it(upgraded: tuple[Service, dict[str, Any], str]) -> None:
    _, ids, url = upgraded
    env = {**os.environ, "JOBDECK_DATABASE_URL": url, "JOBDECK_JOB_MODULES": "jobdeck.demo,tests.kinds"}
    worker = subprocess.run(
        [sys.executable, "-m", "jobdeck", "worker", "--burst"],
        env=env,
        capture_output=True,
        timeout=120,
        cwd=pathlib.Path(__file__).parents[2],
    )
    assert worker.returncode == 0, worker.stderr.decode()
    shown = subprocess.run(
        [sys.executable, "-m", "jobdeck", "jobs", "show", str(ids["queued"]), "--json"],
        env=env,
        capture_output=True,
        timeout=60,
        cwd=pathlib.Path(__file__).parents[2],
    )
    assert shown.returncode == 0, shown.stderr.decode()
    assert json.loads(shown.stdout)["status"] == "completed"
