"""Resume: an import whose worker is SIGKILLed between chunks finishes under the next worker, each row once."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from jobdeck import model, settings
from jobdeck.service import Service
from jobdeck.store import schema
from tests.conftest import wait_for
from tests.imports.conftest import SetSetting, contacts_csv, outcome, rows

CHUNK_ROWS = 20
ROWS = 200
#: A worker in its own process, as `jobdeck worker` runs one; each chunk lingers in its transaction for a
#: moment after its rows are written, so the kill lands while earlier chunks are committed and later ones not.
WORKER = """
import os, time
from jobdeck import settings
from jobdeck.imports import writer
from jobdeck.service import Service

write = writer.Writer.write

def lingering_write(self, conn, rows):
    result = write(self, conn, rows)
    time.sleep(float(os.environ["LINGER_S"]))
    return result

writer.Writer.write = lingering_write
Service.open(settings.load()).worker(1).run()
"""


def completed_chunks(service: Service, job_id: int) -> list[str]:
    s = schema.subtasks
    with service.db.read() as conn:
        return list(
            conn.execute(
                sa.select(s.c.name).where(s.c.job_id == job_id, s.c.status == "completed", s.c.name.startswith("Row"))
            ).scalars()
        )


@pytest.mark.slow
def test_a_killed_import_resumes_at_the_first_unfinished_chunk_and_writes_each_row_once(
    importer: Service,
    uploader: model.User,
    test_settings: settings.Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    set_setting: SetSetting,
) -> None:
    monkeypatch.setenv("JOBDECK_IMPORT_CHUNK_ROWS", str(CHUNK_ROWS))  # the worker subprocess
    set_setting(import_chunk_rows=CHUNK_ROWS)  # the worker in this process
    lines = [f"P{i},Q{i},p{i}@example.com,,,GB," if i % 7 else f"P{i},Q{i},bad{i},,,GB," for i in range(1, ROWS + 1)]
    valid = sorted(f"p{i}@example.com" for i in range(1, ROWS + 1) if i % 7)
    job = importer.start_import(uploader, io.BytesIO(contacts_csv(*lines)), "people.csv", "contacts")

    env = {
        **os.environ,
        "JOBDECK_DATABASE_URL": database_url,
        "JOBDECK_DATA_DIR": str(test_settings.data_dir),
        "JOBDECK_JOB_MODULES": "jobdeck.demo",
        "JOBDECK_LEASE_SECONDS": "1",
        "JOBDECK_POLL_SECONDS": "0.05",
        "JOBDECK_IMPORT_CHUNK_ROWS": str(CHUNK_ROWS),
        "LINGER_S": "0.3",
    }
    worker = subprocess.Popen([sys.executable, "-c", WORKER], env=env)
    try:
        wait_for(lambda: len(completed_chunks(importer, job.id)) >= 3, timeout=60)
    finally:
        worker.kill()  # SIGKILL: no shutdown, no release, the lease just stops being renewed
        worker.wait(10)
    before = completed_chunks(importer, job.id)
    assert 3 <= len(before) < ROWS // CHUNK_ROWS
    assert importer.get_job(uploader, job.id).status is model.Status.IN_PROGRESS

    survivor = importer.worker(concurrency=1)
    deadline = time.monotonic() + 30
    while not survivor.reap() and time.monotonic() < deadline:
        time.sleep(0.1)
    survivor.run(burst=True)

    result = outcome(importer, uploader, job.id)
    assert result.status is model.Status.COMPLETED, result.job.error
    assert result.job.attempt == 2
    assert sorted(r["email"] for r in rows(importer)) == valid
    after = completed_chunks(importer, job.id)
    assert sorted(after) == sorted(set(after))  # every chunk completed exactly once, over both attempts
    assert len(after) == ROWS // CHUNK_ROWS
    assert result.job.description == f"people.csv: {len(valid)} imported, {ROWS - len(valid)} rejected"
    assert [int(r[0]) for r in result.errors] == [i for i in range(1, ROWS + 1) if i % 7 == 0]
    notes = [line[-1] for line in result.csv(model.FileKind.OUTPUT, "-summary.csv")[1:-1]]
    assert notes.count("written by an earlier attempt") == len(before)
