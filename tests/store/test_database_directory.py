"""A SQLite database is never created in a directory that does not exist."""

from __future__ import annotations

import pathlib

import pytest

from jobdeck import errors
from jobdeck.store.database import Database


def test_a_sqlite_file_in_a_missing_directory_is_refused_and_nothing_is_created(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "missing" / "jobdeck.sqlite3"
    with pytest.raises(errors.ConfigInvalid, match="its directory does not exist"):
        Database(f"sqlite:///{path}")
    assert not (tmp_path / "missing").exists()


def test_a_sqlite_file_in_an_existing_directory_is_created(tmp_path: pathlib.Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'jobdeck.sqlite3'}")
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        db.dispose()
    assert (tmp_path / "jobdeck.sqlite3").is_file()
