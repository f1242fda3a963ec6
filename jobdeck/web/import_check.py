"""What the preview page shows of a "Check": the dry run's status, its counts and its first errors.

The check is the import's own dry run, a job like any other; its counts are read back from the summary it
attaches (the "Total" line) and its first errors from its error report, so the page says exactly what the
job found.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator

from jobdeck import csvsafe, errors, model
from jobdeck.service import Service

#: Errors listed on the page; the whole report is a download on the job's detail.
FIRST_ERRORS = 10
#: Bytes read from the head of the error report: FIRST_ERRORS lines of cells within the import's cell limit fit.
ERRORS_HEAD_BYTES = 256 * 1024
SUMMARY_MAX_BYTES = 4 * 1024 * 1024
COUNTS = (("rows", "Rows read"), ("written", "Rows that would be imported"), ("rejected", "Rows rejected"))
SPLIT = (("created", "New"), ("updated", "Updating existing rows"))


@dataclasses.dataclass(frozen=True)
class CheckResult:
    job: model.Job
    finished: bool
    counts: list[tuple[str, str]]  #: (label, count) from the summary's Total line
    first_errors: list[dict[str, str]]  #: row, column, value, message
    more_errors: bool  #: the error report has more than `first_errors`


def check_result(service: Service, user: model.User, job_id: int) -> CheckResult | None:
    """The dry run `job_id` as the page shows it; None when it is no longer there (purged)."""
    try:
        detail = service.job_detail(user, job_id)
    except errors.JobNotFound:
        return None
    job = detail.job
    finished = job.status not in (model.Status.QUEUED, model.Status.IN_PROGRESS)
    counts: list[tuple[str, str]] = []
    first: list[dict[str, str]] = []
    more = False
    if finished:
        summary = next((f for f in detail.files if f.name.endswith("-summary.csv")), None)
        if summary is not None and summary.kind is model.FileKind.OUTPUT:
            counts = _counts(_head(service, user, job.id, summary.id, SUMMARY_MAX_BYTES, whole=True))
        report = next((f for f in detail.files if f.kind is model.FileKind.ERROR_REPORT), None)
        if report is not None:
            first, more = _first_errors(_head(service, user, job.id, report.id, ERRORS_HEAD_BYTES))
    return CheckResult(job, finished, counts, first, more)


def _head(service: Service, user: model.User, job_id: int, file_id: int, limit: int, *, whole: bool = False) -> str:
    """The first `limit` bytes of a job's file as text (cut at the last full line unless it was read whole)."""
    _file, chunks = service.open_file(user, job_id, file_id)
    data = bytearray()
    complete = True
    try:
        for chunk in chunks:
            data += chunk
            if len(data) > limit:
                complete = False
                break
    finally:
        _close(chunks)
    if not complete:
        if whole:
            return ""
        data = data[: data.rfind(b"\n") + 1]
    return bytes(data).decode("utf-8-sig", errors="replace")


def _close(chunks: Iterator[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _counts(text: str) -> list[tuple[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    total = next((r for r in reversed(rows) if r.get("chunk") == "Total"), None)
    if total is None:
        return []
    counts = [(label, _number(total.get(key))) for key, label in COUNTS]
    if total.get("created") and total.get("updated"):
        counts += [(label, _number(total.get(key))) for key, label in SPLIT]
    return counts


def _number(text: str | None) -> str:
    return f"{int(text):,}" if text and text.isdigit() else (text or "")


def _first_errors(text: str) -> tuple[list[dict[str, str]], bool]:
    reader = csv.DictReader(io.StringIO(text))
    found: list[dict[str, str]] = []
    for row in reader:
        if len(found) == FIRST_ERRORS:
            return found, True
        found.append({key: csvsafe.unprotect(row.get(key) or "") for key in ("row", "column", "value", "message")})
    return found, False
