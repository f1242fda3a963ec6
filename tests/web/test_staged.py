"""Uploads waiting on the import page: bound to their session, gone when they expire, never piling up."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest

from jobdeck import errors
from jobdeck.web import staged
from jobdeck.web.staged import StagedUploads


def saver(content: bytes = b"a,b\r\n1,2\r\n") -> Callable[[pathlib.Path], tuple[str, pathlib.Path]]:
    def save(folder: pathlib.Path) -> tuple[str, pathlib.Path]:
        path = folder / "upload.csv"
        path.write_bytes(content)
        return "people.csv", path

    return save


def add(store: StagedUploads, session: str = "session-1", user: int = 1) -> staged.Staged:
    return store.add(saver(), target="contacts", user_id=user, session_id=session, choices={"on_error": "skip"})


def test_an_upload_is_found_by_its_session_with_its_file_and_choices(tmp_path: pathlib.Path) -> None:
    store = StagedUploads(tmp_path)
    kept = add(store)
    found = store.get(kept.token, user_id=1, session_id="session-1")
    assert (found.filename, found.target, found.choices, found.check) == (
        "people.csv",
        "contacts",
        {"on_error": "skip"},
        None,
    )
    assert found.path.read_bytes() == b"a,b\r\n1,2\r\n"


def test_the_record_keeps_a_digest_of_the_session_never_the_session_id(tmp_path: pathlib.Path) -> None:
    kept = add(StagedUploads(tmp_path), session="the-secret-session-id")
    record = (kept.path.parent / staged.RECORD).read_text()
    assert "the-secret-session-id" not in record
    assert staged.session_key("the-secret-session-id") in record


@pytest.mark.parametrize(("user", "session"), [(2, "session-1"), (1, "session-2"), (2, "session-2")])
def test_another_user_or_session_finds_nothing(tmp_path: pathlib.Path, user: int, session: str) -> None:
    store = StagedUploads(tmp_path)
    kept = add(store)
    with pytest.raises(errors.FileNotFound):
        store.get(kept.token, user_id=user, session_id=session)


@pytest.mark.parametrize("token", ["", "../../etc/passwd", "A" * 32, "A" * 31 + "/"])
def test_a_guessed_or_malformed_token_finds_nothing(tmp_path: pathlib.Path, token: str) -> None:
    store = StagedUploads(tmp_path)
    add(store)
    with pytest.raises(errors.FileNotFound, match="upload the file again"):
        store.get(token, user_id=1, session_id="session-1")


def test_an_expired_upload_is_gone_and_its_folder_removed(tmp_path: pathlib.Path) -> None:
    store = StagedUploads(tmp_path, lifetime=0)
    kept = add(store)
    with pytest.raises(errors.FileNotFound):
        store.get(kept.token, user_id=1, session_id="session-1")
    assert not kept.path.parent.exists()


def test_a_new_upload_sweeps_the_expired_ones_of_every_session(tmp_path: pathlib.Path) -> None:
    old = add(StagedUploads(tmp_path, lifetime=0), session="someone-else", user=2)
    add(StagedUploads(tmp_path, lifetime=0))
    assert not old.path.parent.exists()


def test_a_session_keeps_its_latest_uploads_only(tmp_path: pathlib.Path) -> None:
    store = StagedUploads(tmp_path)
    kept = [add(store) for _ in range(staged.MAX_PER_SESSION + 2)]
    others = add(store, session="session-2")
    alive = [k for k in kept if k.path.exists()]
    assert alive == kept[-staged.MAX_PER_SESSION :]
    assert others.path.exists()


def test_a_refused_file_leaves_nothing_behind(tmp_path: pathlib.Path) -> None:
    store = StagedUploads(tmp_path)

    def refuse(folder: pathlib.Path) -> tuple[str, pathlib.Path]:
        (folder / "upload.csv").write_bytes(b"x" * 10)
        raise errors.FileTooLarge()

    with pytest.raises(errors.FileTooLarge):
        store.add(refuse, target="contacts", user_id=1, session_id="session-1", choices={})
    assert list((tmp_path / staged.FOLDER).iterdir()) == []


def test_choices_and_the_check_are_kept_with_the_upload(tmp_path: pathlib.Path) -> None:
    store = StagedUploads(tmp_path)
    kept = add(store)
    store.update(kept, choices={"header_row": 3, "mapping": {"Reach me at": "email"}}, check=42)
    found = store.get(kept.token, user_id=1, session_id="session-1")
    assert (found.choices, found.check) == ({"header_row": 3, "mapping": {"Reach me at": "email"}}, 42)


def test_an_upload_removed_meanwhile_cannot_be_updated(tmp_path: pathlib.Path) -> None:
    store = StagedUploads(tmp_path)
    kept = add(store)
    store.remove(kept.token)
    with pytest.raises(errors.FileNotFound):
        store.update(kept, choices={})
