"""File storage: bytes in and out under generated keys, on disk and in the database."""

from __future__ import annotations

import hashlib
import io
import pathlib

import pytest

from jobdeck import errors, files
from jobdeck.store.database import Database


@pytest.fixture(params=["local", "database"])
def store(request: pytest.FixtureRequest, db: Database, tmp_path: pathlib.Path) -> files.FileStore:
    return files.open_store(str(request.param), db, tmp_path)


def test_a_stored_file_reads_back_identically_with_its_size_and_sha256(store: files.FileStore) -> None:
    data = bytes(range(256)) * 9000  # a little over 2 MiB: several chunks
    stored = store.put(io.BytesIO(data))
    assert stored.size == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(store.open(stored.key)) == data
    with store.local_path(stored.key) as path:
        assert path.read_bytes() == data


def test_an_empty_file_is_still_a_file(store: files.FileStore) -> None:
    stored = store.put(io.BytesIO(b""))
    assert stored.size == 0 and b"".join(store.open(stored.key)) == b""


def test_keys_are_generated_never_taken_from_a_name(store: files.FileStore) -> None:
    keys = {store.put([b"x"]).key for _ in range(3)}
    assert len(keys) == 3 and all(len(k) == 32 and k.isalnum() for k in keys)


def test_a_file_over_the_limit_is_refused_and_not_kept(store: files.FileStore, tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.FileTooLarge):
        store.put(io.BytesIO(b"x" * 5000), max_bytes=4096)
    if isinstance(store, files.LocalFileStore):
        assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_a_deleted_file_is_gone(store: files.FileStore) -> None:
    stored = store.put([b"bye"])
    store.delete(stored.key)
    with pytest.raises(errors.FileNotFound):
        b"".join(store.open(stored.key))


@pytest.mark.parametrize("key", ["../../etc/passwd", "..", "a" * 31, "Z" * 32, ""])
def test_local_store_refuses_keys_that_are_not_its_own(tmp_path: pathlib.Path, key: str) -> None:
    store = files.LocalFileStore(tmp_path)
    with pytest.raises(errors.FileNotFound):
        b"".join(store.open(key))


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("C:\\Users\\ada\\report.csv", "report.csv"),
        ("../../etc/passwd", "passwd"),
        ("\u202etxt.exe\u200b.csv", "txt.exe.csv"),
        ("  .hidden.csv. ", "hidden.csv"),
        ("line\nbreak\x00.csv", "linebreak.csv"),
        ("...", ""),
    ],
)
def test_a_file_name_is_cleaned_of_folders_and_invisible_characters(given: str, kept: str) -> None:
    assert files.clean_name(given) == kept


def test_a_long_file_name_is_cut_to_the_limit_keeping_its_extension() -> None:
    cleaned = files.clean_name("x" * 400 + ".xlsx")
    assert len(cleaned) == files.MAX_NAME_CHARS and cleaned.endswith("x.xlsx")
