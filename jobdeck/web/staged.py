"""Uploads kept between the import page's steps: uploaded once, then previewed, checked and imported by token.

Each staged upload is a folder under the data folder (`staged-uploads/TOKEN/`) holding the file and a small
JSON record: whose it is, the target, and the choices made on the preview page so far. The token is random
and bound to the session that uploaded it: a token of another session, a guessed one and an expired one are
all the same "no such upload" (a 404). An upload is removed when an import starts from it, when it expires
(LIFETIME_SECONDS after the upload), or when its session stages more than MAX_PER_SESSION others; every new
upload sweeps the expired ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import pathlib
import re
import secrets
import shutil
import time
from collections.abc import Callable
from typing import Any

from jobdeck import errors

FOLDER = "staged-uploads"
#: How long an upload waits for its import.
LIFETIME_SECONDS = 3600
#: Uploads one session may keep waiting at once; a new one pushes out the oldest.
MAX_PER_SESSION = 5
RECORD = "upload.json"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
GONE = "This upload is not here any more (uploads wait an hour, and until they are imported): upload the file again."


@dataclasses.dataclass(frozen=True)
class Staged:
    """One upload waiting on the preview page."""

    token: str
    path: pathlib.Path  #: the file
    filename: str  #: its cleaned name, as the user named it
    target: str
    created: float  #: seconds since the epoch
    choices: dict[str, Any]  #: the preview page's choices so far (see import_form.Choices)
    check: int | None = None  #: the dry run started from this upload, if any


def session_key(session_id: str) -> str:
    """What the record keeps of the session: a digest, so the folder never holds a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class StagedUploads:
    """The staged uploads under one data folder."""

    def __init__(self, data_dir: pathlib.Path, lifetime: float = LIFETIME_SECONDS) -> None:
        self.root = data_dir / FOLDER
        self.lifetime = lifetime

    def add(
        self,
        save: Callable[[pathlib.Path], tuple[str, pathlib.Path]],
        *,
        target: str,
        user_id: int,
        session_id: str,
        choices: dict[str, Any],
    ) -> Staged:
        """A new staged upload: `save` writes the file into the folder given (and checks it), returning its
        cleaned name and path. Nothing is left behind when it refuses the file."""
        self.sweep()
        token = secrets.token_urlsafe(24)
        folder = self.root / token
        folder.mkdir(parents=True, mode=0o700)
        try:
            filename, path = save(folder)
            record = {
                "user": user_id,
                "session": session_key(session_id),
                "filename": filename,
                "file": path.name,
                "target": target,
                "created": time.time(),
                "choices": choices,
                "check": None,
            }
            _write(folder / RECORD, record)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._keep_latest(session_key(session_id))
        return self._staged(token, record)

    def get(self, token: str, *, user_id: int, session_id: str) -> Staged:
        """The upload behind `token` if this session staged it and it has not expired; FileNotFound otherwise."""
        record = self._record(token)
        if (
            record is None
            or record.get("user") != user_id
            or not hmac.compare_digest(str(record.get("session", "")), session_key(session_id))
        ):
            raise errors.FileNotFound(GONE)
        if self._expired(record):
            self.remove(token)
            raise errors.FileNotFound(GONE)
        return self._staged(token, record)

    def _staged(self, token: str, record: dict[str, Any]) -> Staged:
        return Staged(
            token=token,
            path=self.root / token / str(record["file"]),
            filename=str(record["filename"]),
            target=str(record["target"]),
            created=float(record["created"]),
            choices=dict(record.get("choices") or {}),
            check=record.get("check"),
        )

    def update(self, staged: Staged, *, choices: dict[str, Any], check: int | None = None) -> None:
        """Keep the preview page's latest choices (and the dry run started from them) with the upload."""
        record = self._record(staged.token)
        if record is None:
            raise errors.FileNotFound(GONE)
        record["choices"] = choices
        record["check"] = check
        _write(self.root / staged.token / RECORD, record)

    def remove(self, token: str) -> None:
        if _TOKEN.match(token):
            shutil.rmtree(self.root / token, ignore_errors=True)

    def sweep(self) -> None:
        """Remove every expired upload (and any folder left without a record by a crash mid-upload)."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            record = self._record(folder.name)
            if record is None:
                if _age(folder) > self.lifetime:
                    shutil.rmtree(folder, ignore_errors=True)
            elif self._expired(record):
                self.remove(folder.name)

    def _keep_latest(self, session: str) -> None:
        """At most MAX_PER_SESSION uploads for one session: the oldest go first."""
        mine = []
        for folder in self.root.iterdir():
            record = self._record(folder.name)
            if record is not None and record.get("session") == session:
                mine.append((float(record.get("created", 0)), folder.name))
        for _created, token in sorted(mine)[:-MAX_PER_SESSION]:
            self.remove(token)

    def _record(self, token: str) -> dict[str, Any] | None:
        if not _TOKEN.match(token):
            return None
        try:
            value = json.loads((self.root / token / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def _expired(self, record: dict[str, Any]) -> bool:
        created = record.get("created")
        return not isinstance(created, int | float) or time.time() - created >= self.lifetime


def _age(path: pathlib.Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _write(path: pathlib.Path, record: dict[str, Any]) -> None:
    """Replace the record whole: a reader sees the old one or the new one, never half of either."""
    partial = path.with_suffix(".partial")
    try:
        partial.write_text(json.dumps(record), encoding="utf-8")
        os.replace(partial, path)
    except FileNotFoundError:  # removed meanwhile (imported from another tab, or expired)
        raise errors.FileNotFound(GONE) from None
