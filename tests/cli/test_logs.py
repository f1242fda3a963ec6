"""Log output: JSON lines on request."""

from __future__ import annotations

import json
import logging

import pytest

from jobdeck.cli import logs


def test_json_logs_write_one_object_per_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOBDECK_JSON_LOGS", "1")
    logs.configure(verbose=False)
    try:
        logging.getLogger("jobdeck.test").warning("job %s lost", 7)
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        logging.getLogger().handlers.clear()
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == ("warning", "jobdeck.test", "job 7 lost")
