"""The database handle: engines for SQLite and PostgreSQL, transactions, and the database clock."""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import select
import threading
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from jobdeck import errors
from jobdeck.settings import normalize_database_url

NOTIFY_CHANNEL = "jobdeck_jobs"
#: what store functions take: callers above the store name the type without importing SQLAlchemy
Connection = sa.Connection
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: WAL pages (4 KiB each) a commit may leave before it copies them into the database file. An import's chunk
#: dirties most pages of its target's key index, so with SQLite's 1,000 every chunk's commit checkpointed:
#: each page written and synced twice per chunk. 10,000 pages (40 MB of WAL) let one checkpoint carry the
#: pages of several chunks; bench/imports.py's bare write of a million contacts went from 175,000 to 205,000
#: rows/s (medians of three, chunks of 20,000).
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000


class db_now(FunctionElement[dt.datetime]):
    """The database's clock, optionally shifted by a number of seconds: leases never trust a worker's clock."""

    type = sa.DateTime(timezone=True)
    inherit_cache = True
    name = "db_now"


@compiles(db_now)
def _now_postgresql(element: db_now, compiler: Any, **kw: Any) -> str:
    args = list(element.clauses)
    if not args:
        return "clock_timestamp()"
    return f"(clock_timestamp() + make_interval(secs => {compiler.process(args[0], **kw)}))"


@compiles(db_now, "sqlite")
def _now_sqlite(element: db_now, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff'; %f gives milliseconds.
    args = list(element.clauses)
    if not args:
        return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
    shift = compiler.process(args[0], **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%f', 'now', ({shift}) || ' seconds') || '000')"


def is_transient(exc: BaseException) -> bool:
    """A lost or refused connection (a server restart, a network blip): worth retrying."""
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
    )


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Raise jobdeck's own error for a failed statement: DatabaseUnavailable when retrying is worth
    it, DatabaseFailed otherwise (the original stays attached as the cause)."""
    try:
        yield
    except sa.exc.SQLAlchemyError as exc:
        if is_transient(exc):
            raise errors.DatabaseUnavailable(str(exc)) from exc
        raise errors.DatabaseFailed(str(exc)) from exc


def ended_by_server(dbapi_connection: Any) -> bool:
    """Whether the server has ended this idle pooled connection (a restart, pg_terminate_backend, an idle
    session timeout), asked of the socket with a zero-timeout poll instead of a round trip. The server
    sends an idle connection nothing unless it is ending it (its farewell, then the end of the stream);
    the rare other message (a parameter changed by a configuration reload) costs one reconnect."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _replace_if_ended(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if ended_by_server(dbapi_connection):
        # the pool discards this connection and checks out another (a new one if need be)
        raise sa.exc.DisconnectionError("the server ended this pooled connection")


class Database:
    """One engine per process; every store function takes this or a Connection."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        sqlite_synchronous: str = "FULL",
        pre_ping: bool = False,
        idle_in_transaction_timeout_s: float | None = None,
    ) -> None:
        self.url = normalize_database_url(url)
        self.dialect = sa.engine.make_url(self.url).get_backend_name()
        if self.is_sqlite:
            self.engine = self._sqlite_engine(pool_size, sqlite_synchronous)
        else:
            # A connection the server has ended is replaced at checkout (_replace_if_ended), without
            # the round trip a pre-ping costs every transaction; `pre_ping` adds that ping for a proxy
            # that keeps the client's socket open while its server connection is gone (PgBouncer).
            connect_args = {}
            if idle_in_transaction_timeout_s:
                # A process paused inside a transaction (SIGSTOP, a frozen VM) would hold its row locks
                # and hide its jobs from the reaper's SKIP LOCKED scan; the server ends such sessions.
                timeout_ms = int(idle_in_transaction_timeout_s * 1000)
                connect_args["options"] = f"-c idle_in_transaction_session_timeout={timeout_ms}"
            self.engine = sa.create_engine(
                self.url,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=pre_ping,
                pool_recycle=1800,
                connect_args=connect_args,
            )
            sa.event.listen(self.engine, "checkout", _replace_if_ended)
        self._wake_listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sqlite_file(self) -> str | None:
        """The path of the SQLite database file; None for PostgreSQL or an in-memory or URI database."""
        path = sa.engine.make_url(self.url).database if self.is_sqlite else None
        return path if path and path != ":memory:" and not path.startswith("file:") else None

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def _sqlite_engine(self, pool_size: int, synchronous: str) -> sa.Engine:
        path = sa.engine.make_url(self.url).database
        if path and path != ":memory:" and not pathlib.Path(path).parent.is_dir():
            # SQLite would create an empty database there; a mistyped path must not start a new, empty ledger.
            raise errors.ConfigInvalid(
                f"The SQLite database {path!r} cannot be opened: its directory does not exist; create it first."
            )
        engine = sa.create_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )

        @sa.event.listens_for(engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE is ours to send.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # A deferred transaction that later writes fails with SQLITE_BUSY_SNAPSHOT, which
            # busy_timeout does not retry; writers take the lock up front instead.
            options = conn.get_execution_options()
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("jobdeck_write", False) else "BEGIN")

        return engine

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A read-write transaction, committed on success; on SQLite it holds the write lock from the start."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(jobdeck_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction (a consistent snapshot)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def add_wake_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._wake_listeners.append(listener)

    def remove_wake_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._wake_listeners:
                self._wake_listeners.remove(listener)

    def notify_new_work(self, conn: sa.Connection) -> None:
        """Wake workers: NOTIFY on PostgreSQL (delivered at commit) for other processes, and in-process
        listeners at once (on SQLite their claim waits for this transaction's write lock, so they see it)."""
        if self.is_postgresql:
            conn.exec_driver_sql(f"NOTIFY {NOTIFY_CHANNEL}")
        self.wake_listeners()

    def wake_listeners(self) -> None:
        """Wake this process's workers only (a statement that sent its own NOTIFY already woke the others)."""
        with self._lock:
            listeners = list(self._wake_listeners)
        for listener in listeners:
            listener()

    def dispose(self) -> None:
        self.engine.dispose()


class HeldConnection:
    """A connection a loop keeps across its transactions (no pool checkout or ping each time);
    a broken one is dropped and the next transaction opens a fresh one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: sa.Connection | None = None

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction on the held connection; a failure raises DatabaseFailed (or
        DatabaseUnavailable) and drops the connection."""
        try:
            with translated_errors():
                if self._conn is None:
                    self._conn = self._open()
                with self._conn.begin():
                    yield self._conn
        except errors.DatabaseFailed:
            self.close(broken=True)
            raise

    def _open(self) -> sa.Connection:
        return self.db.engine.connect().execution_options(jobdeck_write=True)

    def close(self, broken: bool = False) -> None:
        if self._conn is not None:
            if broken:
                self._conn.invalidate()
            self._conn.close()
            self._conn = None
