"""The wiring of a process: job modules, the schema, and what it opens."""

from __future__ import annotations

import pathlib

import pytest

from jobdeck import errors, settings, wiring


def empty(tmp_path: pathlib.Path) -> settings.Settings:
    return settings.load(database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}", data_dir=tmp_path / "data")


def test_upgrading_an_empty_database_brings_it_to_the_newest_revision(tmp_path: pathlib.Path) -> None:
    config = empty(tmp_path)
    assert wiring.schema_revision(config) is None
    assert wiring.upgrade_schema(config) == (None, wiring.schema_head())
    assert wiring.upgrade_schema(config) == (wiring.schema_head(), wiring.schema_head())


def test_opening_without_upgrading_refuses_an_empty_database(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.SchemaOutdated):
        wiring.Wiring.open(empty(tmp_path), upgrade=False)


def test_opening_migrates_an_empty_database_and_closes(tmp_path: pathlib.Path) -> None:
    config = empty(tmp_path)
    opened = wiring.Wiring.open(config)
    opened.close()
    assert wiring.schema_revision(config) == wiring.schema_head()


def test_a_job_module_that_cannot_be_imported_is_a_setting_error_naming_it(tmp_path: pathlib.Path) -> None:
    config = settings.load(data_dir=tmp_path, job_modules="jobdeck_no_such_module")
    with pytest.raises(errors.ConfigInvalid, match="jobdeck_no_such_module"):
        wiring.load_job_modules(config)
