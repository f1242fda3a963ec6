"""Cancelling a running import: it stops between chunks, and every chunk is either whole or absent."""

from __future__ import annotations

import io
import threading

import pytest

from jobdeck import model
from jobdeck.service import Service
from tests.conftest import wait_for
from tests.imports.conftest import SetSetting, contacts_csv, outcome, rows
from tests.imports.test_resume import completed_chunks

#: Small chunks of a large file: 20,000 commits take seconds even on a fast, idle machine, so the import is
#: still running when the cancel arrives (a few heartbeats after the second chunk), however fast it reads.
CHUNK_ROWS = 10
FILE_ROWS = 200_000


@pytest.mark.slow
def test_a_cancelled_import_stops_between_chunks(
    importer: Service, uploader: model.User, set_setting: SetSetting
) -> None:
    set_setting(import_chunk_rows=CHUNK_ROWS)
    lines = [f"P{i},Q{i},p{i}@example.com,,,GB," for i in range(1, FILE_ROWS + 1)]
    job = importer.start_import(uploader, io.BytesIO(contacts_csv(*lines)), "many.csv", "contacts")
    worker = importer.worker(concurrency=1, heartbeat_seconds=0.1)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(completed_chunks(importer, job.id)) >= 2, timeout=60)
        importer.cancel(uploader, job.id)
        wait_for(lambda: importer.get_job(uploader, job.id).status.is_terminal, timeout=60)
    finally:
        worker.stop()
        thread.join(30)
    result = outcome(importer, uploader, job.id)
    assert result.status is model.Status.CANCELLED
    done = completed_chunks(importer, job.id)
    assert len(rows(importer)) == len(done) * CHUNK_ROWS < len(lines)
