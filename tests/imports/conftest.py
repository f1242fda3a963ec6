"""Fixtures for imports: the demo tables, an uploader that runs the job to its end, and table readers."""

from __future__ import annotations

import csv
import dataclasses
import io
import pathlib
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.demo import imports as demo
from jobdeck.imports import targets
from jobdeck.service import JobDetail, Service
from jobdeck.store import users as user_rows

CORPUS = pathlib.Path(__file__).parent / "corpus"


@pytest.fixture
def importer(service: Service) -> Service:
    """The service with the demo tables created, as `Service.open` does."""
    targets.ensure_tables(service.db)
    return service


SetSetting = Callable[..., None]


@pytest.fixture
def set_setting(importer: Service) -> SetSetting:
    """Change settings of the service under test (say, a smaller chunk) for this test only."""

    def change(**values: Any) -> None:
        importer.wiring.settings = importer.settings.model_copy(update=values)

    return change


@pytest.fixture
def uploader(service: Service) -> model.User:
    """A plain user who cannot log in (no password hashing: these tests never log in, and argon2 is slow)."""
    with service.db.write() as conn:
        return user_rows.create(conn, "uma", "Uma Uploader", "!no-login", False)


@dataclasses.dataclass
class Outcome:
    """An import run to its end, with its files read back."""

    job: model.Job
    detail: JobDetail
    files: dict[model.FileKind, dict[str, bytes]]

    @property
    def status(self) -> model.Status:
        return self.job.status

    def file(self, kind: model.FileKind, ending: str) -> bytes:
        [(_, data)] = [(n, d) for n, d in self.files.get(kind, {}).items() if n.endswith(ending)]
        return data

    def csv(self, kind: model.FileKind, ending: str) -> list[list[str]]:
        return list(csv.reader(io.StringIO(self.file(kind, ending).decode("utf-8-sig"))))

    @property
    def errors(self) -> list[list[str]]:
        """The error report's rows after its header (empty when there is none)."""
        if not self.files.get(model.FileKind.ERROR_REPORT):
            return []
        return self.csv(model.FileKind.ERROR_REPORT, "-errors.csv")[1:]

    @property
    def error_codes(self) -> list[tuple[int, str, str]]:
        return [(int(r[0]), r[1], r[3]) for r in self.errors]


RunImport = Callable[..., Outcome]


@pytest.fixture
def run_import(importer: Service, uploader: model.User) -> RunImport:
    """Upload bytes as a user, run a worker until the queue is empty, and return the job with its files."""

    def run(data: bytes, filename: str = "contacts.csv", target: str = "contacts", **options: Any) -> Outcome:
        job = importer.start_import(uploader, io.BytesIO(data), filename, target, **options)
        importer.worker(concurrency=1).run(burst=True)
        return outcome(importer, uploader, job.id)

    return run


def outcome(service: Service, user: model.User, job_id: int) -> Outcome:
    detail = service.job_detail(user, job_id)
    files: dict[model.FileKind, dict[str, bytes]] = {}
    for f in detail.files:
        _, chunks = service.open_file(user, job_id, f.id)
        files.setdefault(f.kind, {})[f.name] = b"".join(chunks)
    return Outcome(job=detail.job, detail=detail, files=files)


def rows(service: Service, table: sa.Table = demo.contacts_table) -> list[dict[str, Any]]:
    """The table's rows in key order (a chunk is written in key order, so ids need not follow the file)."""
    key = table.c.email if "email" in table.c else table.c.sku
    with service.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(key))]


def contacts_csv(*lines: str, header: str = "first_name,last_name,email,phone,company,country,created_on") -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()
