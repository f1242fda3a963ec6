"""Settings: every JOBDECK_* value is checked when it is read, and a bad one is named with its value."""

from __future__ import annotations

import os
import pathlib

import pytest

from jobdeck import errors, settings


@pytest.fixture
def data_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "data"


def refused(**values: object) -> str:
    with pytest.raises(errors.ConfigInvalid) as exc:
        settings.load(**values)
    return exc.value.message


class TestFallbackEncoding:
    def test_an_unknown_encoding_is_refused_naming_the_variable_and_value(self, data_dir: pathlib.Path) -> None:
        assert refused(import_fallback_encoding="bogus", data_dir=data_dir) == (
            "JOBDECK_IMPORT_FALLBACK_ENCODING='bogus': not an encoding Python knows; try cp1252, latin-1 or utf-8"
        )

    def test_a_codec_that_is_not_a_text_encoding_is_refused(self, data_dir: pathlib.Path) -> None:
        assert "not a text encoding" in refused(import_fallback_encoding="base64", data_dir=data_dir)

    def test_a_known_encoding_is_kept_by_its_canonical_name(self, data_dir: pathlib.Path) -> None:
        assert settings.load(import_fallback_encoding="Latin1", data_dir=data_dir).import_fallback_encoding == (
            "iso8859-1"
        )


class TestDatabaseUrl:
    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("mysql://x", "jobdeck runs on SQLite or PostgreSQL, not mysql"),
            ("not-a-url", "not a database URL; use sqlite:///path/to/file or postgresql://user:pass@host/db"),
            ("postgresql+asyncpg://h/d", "the database driver 'asyncpg' is not installed"),
        ],
    )
    def test_a_url_jobdeck_cannot_use_is_refused_saying_why(
        self, data_dir: pathlib.Path, url: str, reason: str
    ) -> None:
        assert refused(database_url=url, data_dir=data_dir) == f"JOBDECK_DATABASE_URL='{url}': {reason}"

    def test_the_password_of_a_refused_url_is_hidden(self, data_dir: pathlib.Path) -> None:
        message = refused(database_url="postgresql+asyncpg://u:hunter2@h/d", data_dir=data_dir)
        assert "hunter2" not in message and "u:***@h/d" in message

    def test_a_sqlite_file_in_a_missing_directory_is_refused_and_not_created(self, tmp_path: pathlib.Path) -> None:
        url = f"sqlite:///{tmp_path / 'missing' / 'jobdeck.sqlite3'}"
        message = refused(database_url=url, data_dir=tmp_path / "data")
        assert message == (
            f"JOBDECK_DATABASE_URL='{url}': the directory '{tmp_path / 'missing'}' does not exist; "
            "create it or fix the URL"
        )
        assert not (tmp_path / "missing").exists()

    @pytest.mark.parametrize("url", ["postgresql://u@h/d", "postgres://u@h/d", "sqlite://", "sqlite:///:memory:"])
    def test_urls_jobdeck_runs_on_are_accepted(self, data_dir: pathlib.Path, url: str) -> None:
        assert settings.load(database_url=url, data_dir=data_dir).database_url == url

    def test_a_sqlite_file_in_an_existing_directory_is_accepted(self, tmp_path: pathlib.Path) -> None:
        url = f"sqlite:///{tmp_path / 'jobdeck.sqlite3'}"
        assert settings.load(database_url=url, data_dir=tmp_path / "data").resolved_database_url == url


class TestDataDir:
    def test_a_missing_data_directory_is_created(self, tmp_path: pathlib.Path) -> None:
        settings.load(data_dir=tmp_path / "a" / "b")
        assert (tmp_path / "a" / "b").is_dir()

    def test_a_file_is_refused(self, tmp_path: pathlib.Path) -> None:
        (tmp_path / "data").write_text("")
        assert refused(data_dir=tmp_path / "data") == (
            f"JOBDECK_DATA_DIR='{tmp_path / 'data'}': it is a file, not a directory"
        )

    def test_a_directory_under_a_file_is_refused(self, tmp_path: pathlib.Path) -> None:
        (tmp_path / "file").write_text("")
        message = refused(data_dir=tmp_path / "file" / "data")
        assert message.startswith(f"JOBDECK_DATA_DIR='{tmp_path / 'file' / 'data'}': cannot use it as the data")

    @pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any directory")
    def test_a_directory_jobdeck_may_not_write_is_refused(self, tmp_path: pathlib.Path) -> None:
        (tmp_path / "data").mkdir(mode=0o500)
        assert "Permission denied" in refused(data_dir=tmp_path / "data")

    def test_is_not_needed_when_the_database_holds_everything(self, tmp_path: pathlib.Path) -> None:
        (tmp_path / "data").write_text("")
        loaded = settings.load(database_url="postgresql://u@h/d", file_storage="database", data_dir=tmp_path / "data")
        assert loaded.file_storage == "database"


def test_a_trusted_proxy_that_is_not_an_address_or_network_is_refused_naming_the_variable() -> None:
    with pytest.raises(errors.ConfigInvalid, match=r"JOBDECK_TRUSTED_PROXIES=.*'proxy\.example\.com' is not"):
        settings.read(trusted_proxies="10.0.0.1, proxy.example.com")


def test_an_openid_issuer_without_a_client_id_is_refused() -> None:
    with pytest.raises(errors.ConfigInvalid, match="JOBDECK_OIDC_CLIENT_ID"):
        settings.read(oidc_issuer="https://login.example.com")
