"""The demo's system operations: a contacts export and a search-index rebuild, with subtasks and files."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from jobdeck import model
from jobdeck.demo import maintenance
from jobdeck.demo.imports import contacts_table
from jobdeck.imports import targets
from jobdeck.service import Service


def add_contacts(service: Service, count: int) -> None:
    targets.ensure_tables(service.db)
    with service.db.write() as conn:
        conn.execute(
            sa.insert(contacts_table),
            [
                {"first_name": f"Ann{i}", "last_name": "Lee", "email": f"ann{i}@example.com", "company": "=HYPERLINK()"}
                for i in range(count)
            ],
        )


def test_export_writes_every_contact_with_formula_cells_neutralised(service: Service, alice: model.User) -> None:
    add_contacts(service, 25)
    job = service.start_job(alice, "export_contacts", run_at="/settings/maintenance")
    service.worker(concurrency=1).run(burst=True)
    detail = service.job_detail(alice, job.id)
    assert detail.job.status is model.Status.COMPLETED
    assert [s.name for s in detail.subtasks] == ["Rows 1\u201325"]
    (output,) = detail.files
    assert output.kind is model.FileKind.OUTPUT and output.name.startswith("contacts-")
    _, content = service.open_file(alice, job.id, output.id)
    rows = list(csv.reader(io.StringIO(b"".join(content).decode("utf-8-sig"))))
    assert rows[0] == list(maintenance.EXPORT_COLUMNS) and len(rows) == 26
    assert rows[1][4] == "'=HYPERLINK()"


def test_rebuilding_the_index_commits_each_batch_with_its_subtask(service: Service, admin: model.User) -> None:
    add_contacts(service, 3)
    job = service.start_job(admin, "rebuild_contact_index")
    service.worker(concurrency=1).run(burst=True)
    detail = service.job_detail(admin, job.id)
    assert detail.job.status is model.Status.COMPLETED
    assert [s.name for s in detail.subtasks] == ["Clear the index", "Rows 1\u20133"]
    with service.db.read() as conn:
        terms = set(conn.execute(sa.select(maintenance.search_terms.c.term)).scalars())
    assert {"ann0", "lee", "example"} <= terms


def test_only_admins_may_rebuild_the_index(service: Service, alice: model.User) -> None:
    assert "rebuild_contact_index" not in {t.name for t in service.job_types_for(alice)}
    assert "export_contacts" in {t.name for t in service.job_types_for(alice)}
