"""The import reads in a child process: a child killed mid-import fails the job clearly, and a Retry writes
every valid row exactly once."""

from __future__ import annotations

import io
import signal
import threading
import time
from typing import Any

import psutil
import pytest
import sqlalchemy as sa

from jobdeck import model
from jobdeck.imports import seen, writer
from jobdeck.runner import spares
from jobdeck.service import Service
from tests.conftest import wait_for
from tests.imports.conftest import RunImport, SetSetting, contacts_csv, outcome, rows
from tests.imports.test_resume import completed_chunks

CHUNK_ROWS = 100
#: Far more than the pipe and the queue of two hold, so the child is still reading when it is killed.
ROWS = 20_000


def reading_children() -> list[psutil.Process]:
    found = []
    for process in psutil.Process().children():
        try:
            if "jobdeck.runner.child" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:  # gone, or a zombie of some other test's process
            continue
    return found


@pytest.mark.slow
def test_a_child_killed_mid_import_fails_the_job_and_a_retry_writes_each_valid_row_once(
    importer: Service, uploader: model.User, set_setting: SetSetting, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_setting(import_chunk_rows=CHUNK_ROWS)
    write = writer.Writer.write

    def slow_write(self: writer.Writer, conn: sa.Connection, batch: Any) -> tuple[int, int]:
        time.sleep(0.2)  # each chunk lingers, so the kill lands with some chunks written and others not
        return write(self, conn, batch)

    monkeypatch.setattr(writer.Writer, "write", slow_write)
    lines = [f"P{i},Q{i},p{i}@example.com,,,GB," if i % 7 else f"P{i},Q{i},bad{i},,,GB," for i in range(1, ROWS + 1)]
    valid = sorted(f"p{i}@example.com" for i in range(1, ROWS + 1) if i % 7)
    job = importer.start_import(uploader, io.BytesIO(contacts_csv(*lines)), "people.csv", "contacts")
    worker = importer.worker(concurrency=1)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(completed_chunks(importer, job.id)) >= 3, timeout=120)
        [child] = reading_children()
        child.send_signal(signal.SIGKILL)
        wait_for(lambda: importer.get_job(uploader, job.id).status.is_terminal, timeout=60)
    finally:
        worker.stop()
        thread.join(30)
    failed = importer.get_job(uploader, job.id)
    assert failed.status is model.Status.FAILED
    assert (failed.error or "").startswith("The process reading this file stopped (signal 9)")
    assert 3 <= len(completed_chunks(importer, job.id)) < ROWS // CHUNK_ROWS

    monkeypatch.setattr(writer.Writer, "write", write)
    again = importer.retry(uploader, job.id)
    importer.worker(concurrency=1).run(burst=True)
    result = outcome(importer, uploader, again.id)
    assert result.status is model.Status.COMPLETED, result.job.error
    assert sorted(r["email"] for r in rows(importer)) == valid
    assert len(completed_chunks(importer, again.id)) == ROWS // CHUNK_ROWS
    assert result.job.description == f"people.csv: {len(valid):,} imported, {ROWS - len(valid):,} rejected"


def test_a_long_import_under_a_cap_with_no_room_for_numpy_fails_naming_the_cap(
    run_import: RunImport, set_setting: SetSetting
) -> None:
    # Past seen.SET_KEYS keys the check loads numpy, whose libraries need ~80 MB of address space this cap
    # does not have left (a short file imports under it); the loader's failure must read as the cap.
    set_setting(import_max_memory_mb=100, import_chunk_rows=1000)
    lines = [f"P{i},Q{i},p{i}@example.com,,,GB," for i in range(seen.SET_KEYS + 1000)]
    result = run_import(contacts_csv(*lines))
    assert result.status is model.Status.FAILED
    assert (result.job.error or "").startswith("Reading this file needed more than 100 MB"), result.job.error


def test_an_import_takes_the_reading_process_started_ahead_and_leaves_the_next_one_waiting(
    importer: Service, uploader: model.User, set_setting: SetSetting, run_import: RunImport
) -> None:
    set_setting(isolated_spare=True)
    spares.SPARES.release()
    try:
        assert run_import(contacts_csv("Ada,Lovelace,ada@example.com,,,GB,")).status is model.Status.COMPLETED
        [waiting] = spares.SPARES.waiting().values()
        second = run_import(contacts_csv("Alan,Turing,alan@example.com,,,GB,"))
        assert second.status is model.Status.COMPLETED, second.job.error
        assert not psutil.pid_exists(waiting) or psutil.Process(waiting).status() == psutil.STATUS_ZOMBIE
        [after] = spares.SPARES.waiting().values()
        assert after != waiting
        assert sorted(r["email"] for r in rows(importer)) == ["ada@example.com", "alan@example.com"]
    finally:
        spares.SPARES.release()
