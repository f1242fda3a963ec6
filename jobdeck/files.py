"""File bytes: a local directory or database blobs, streamed, under generated keys, with size and sha256."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pathlib
import secrets
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol

import sqlalchemy as sa

from jobdeck import errors
from jobdeck.store import schema
from jobdeck.store.database import Database

CHUNK_BYTES = 1024 * 1024
#: The longest file name kept (what most file systems allow).
MAX_NAME_CHARS = 255


@dataclasses.dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


def _chunks(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if hasattr(source, "read"):
        while chunk := source.read(CHUNK_BYTES):
            yield chunk
    else:
        yield from source


def clean_name(name: str) -> str:
    """A file name safe to show and to offer back: no folders, no control, invisible or direction-changing
    characters, no leading or trailing dots and spaces, at most MAX_NAME_CHARS characters (the extension
    kept). Empty when nothing usable is left."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(". ")
    if len(base) > MAX_NAME_CHARS:
        suffix = pathlib.PurePath(base).suffix[:20]
        base = base[: MAX_NAME_CHARS - len(suffix)] + suffix
    return base


def new_key() -> str:
    """A generated storage key: never derived from a user's file name."""
    return secrets.token_hex(16)


class FileStore(Protocol):
    def put(self, source: BinaryIO | Iterable[bytes], max_bytes: int | None = None) -> StoredFile: ...

    def open(self, key: str) -> Iterator[bytes]: ...

    def local_path(self, key: str) -> contextlib.AbstractContextManager[pathlib.Path]: ...

    def delete(self, key: str) -> None: ...


class LocalFileStore:
    """Files under `root/<2 hex>/<32 hex>`, outside anything the web server serves."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> pathlib.Path:
        if len(key) != 32 or not all(c in "0123456789abcdef" for c in key):
            raise errors.FileNotFound()
        return self.root / key[:2] / key

    def put(self, source: BinaryIO | Iterable[bytes], max_bytes: int | None = None) -> StoredFile:
        key = new_key()
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        digest, size = hashlib.sha256(), 0
        tmp = path.with_suffix(".part")
        try:
            with open(tmp, "wb") as out:
                for chunk in _chunks(source):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise errors.FileTooLarge(f"The file is larger than the limit of {max_bytes:,} bytes.")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        if not path.exists():
            raise errors.FileNotFound()

        def stream() -> Iterator[bytes]:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK_BYTES):
                    yield chunk

        return stream()

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[pathlib.Path]:
        path = self._path(key)
        if not path.exists():
            raise errors.FileNotFound()
        yield path

    def delete(self, key: str) -> None:
        with contextlib.suppress(errors.FileNotFound):
            self._path(key).unlink(missing_ok=True)


class DatabaseFileStore:
    """Files as 1 MiB blobs in the database, so every machine sees every file."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, source: BinaryIO | Iterable[bytes], max_bytes: int | None = None) -> StoredFile:
        key = new_key()
        digest, size = hashlib.sha256(), 0
        blobs = schema.file_blobs
        with self.db.write() as conn:
            seq = 0
            for chunk in _chunks(source):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise errors.FileTooLarge(f"The file is larger than the limit of {max_bytes:,} bytes.")
                digest.update(chunk)
                conn.execute(sa.insert(blobs).values(storage_key=key, seq=seq, data=chunk))
                seq += 1
            if seq == 0:  # an empty file still exists
                conn.execute(sa.insert(blobs).values(storage_key=key, seq=0, data=b""))
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> Iterator[bytes]:
        blobs = schema.file_blobs
        with self.db.read() as conn:
            count = conn.execute(sa.select(sa.func.count()).where(blobs.c.storage_key == key)).scalar_one()
        if not count:
            raise errors.FileNotFound()

        def stream() -> Iterator[bytes]:
            for seq in range(count):
                with self.db.read() as conn:
                    yield conn.execute(
                        sa.select(blobs.c.data).where(blobs.c.storage_key == key, blobs.c.seq == seq)
                    ).scalar_one()

        return stream()

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[pathlib.Path]:
        with tempfile.TemporaryDirectory(prefix="jobdeck-") as tmp:
            path = pathlib.Path(tmp) / key
            with open(path, "wb") as out:
                for chunk in self.open(key):
                    out.write(chunk)
            yield path

    def delete(self, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(sa.delete(schema.file_blobs).where(schema.file_blobs.c.storage_key == key))


def open_store(kind: str, db: Database, data_dir: pathlib.Path) -> FileStore:
    if kind == "database":
        return DatabaseFileStore(db)
    return LocalFileStore(data_dir / "files")
