"""One settings object: every knob is a JOBDECK_* environment variable."""

from __future__ import annotations

import codecs
import ipaddress
import pathlib
import secrets
import tempfile
from typing import Any, Literal

import pydantic
import pydantic_settings
import sqlalchemy as sa

from jobdeck import errors

#: How /metrics labels workers (jobdeck.metrics): by id, by host name, or not at all.
MetricsWorkerLabel = Literal["id", "host", "none"]


class Settings(pydantic_settings.BaseSettings):
    model_config = pydantic_settings.SettingsConfigDict(env_prefix="JOBDECK_", extra="ignore", frozen=True)

    #: SQLAlchemy URL; the default is a SQLite file under the data directory.
    database_url: str = ""
    #: where the SQLite file, uploads and local file storage live.
    data_dir: pathlib.Path = pathlib.Path("var")
    #: "local" keeps file bytes under data_dir/files; "database" keeps them in the database (many machines).
    file_storage: Literal["local", "database"] = "local"
    #: worker threads inside `jobdeck serve`; 0 runs the web server only.
    workers: int = pydantic.Field(default=4, ge=0, le=256)
    #: signs nothing the client can forge; used for CSRF tokens and cursors. Random per process when unset.
    secret_key: str = ""
    #: a claimed job is reclaimed this long after its worker's last heartbeat.
    lease_seconds: float = pydantic.Field(default=30.0, gt=0.5, le=3600)
    #: how often a worker extends its leases; must be at most a third of the lease.
    heartbeat_seconds: float = pydantic.Field(default=0.0, ge=0)
    #: how often the reaper looks for expired leases.
    reap_seconds: float = pydantic.Field(default=0.0, ge=0)
    #: jobs a worker claims beyond its free threads (throughput for short jobs; they wait as In Progress).
    prefetch: int = pydantic.Field(default=0, ge=0, le=10_000)
    #: longest wait between polls when nothing wakes a worker.
    poll_seconds: float = pydantic.Field(default=1.0, gt=0, le=60)
    #: how long a stopping worker lets running jobs finish before handing them back.
    shutdown_grace_seconds: float = pydantic.Field(default=20.0, ge=0)
    max_upload_mb: int = pydantic.Field(default=100, ge=1)
    retention_days: int = pydantic.Field(default=30, ge=1)
    #: modules imported at start-up to register job types and import targets (comma-separated).
    job_modules: str = "jobdeck.demo"
    #: SQLite synchronous mode: FULL survives power loss; NORMAL is faster and may lose the last commits.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    #: log lines as JSON objects rather than text.
    json_logs: bool = False
    #: cookies marked Secure (set behind HTTPS).
    secure_cookies: bool = False
    #: idle session lifetime and absolute session lifetime.
    session_idle_minutes: int = pydantic.Field(default=120, ge=1)
    session_max_hours: int = pydantic.Field(default=12, ge=1)
    #: failed logins from one client address before it is refused for login_lock_minutes.
    login_max_failures: int = pydantic.Field(default=5, ge=1)
    login_lock_minutes: int = pydantic.Field(default=15, ge=1)
    #: import limits.
    import_chunk_rows: int = pydantic.Field(default=10_000, ge=1)
    import_max_rows: int = pydantic.Field(default=5_000_000, ge=1)
    import_max_columns: int = pydantic.Field(default=200, ge=1)
    import_max_cell_chars: int = pydantic.Field(default=10_000, ge=1)
    import_max_xlsx_uncompressed_mb: int = pydantic.Field(default=500, ge=1)
    import_fallback_encoding: str = "cp1252"
    #: how /metrics labels worker heartbeats: "id" (host:pid:random, a new series at every start),
    #: "host" (one series per host name) or "none" (one series for all workers).
    metrics_worker_label: MetricsWorkerLabel = "id"
    #: failed logins for one account name, from all addresses together, before it is locked for
    #: login_lock_minutes (login_max_failures counts per client address, and bites first).
    login_max_failures_per_account: int = pydantic.Field(default=20, ge=1)
    #: the longest lifetime an API token may be given at creation.
    token_max_days: int = pydantic.Field(default=30, ge=1, le=3650)
    #: the largest parameters a job may be started with, as JSON.
    max_params_bytes: int = pydantic.Field(default=64 * 1024, ge=1024)
    #: seconds a job may run when its type names no limit of its own; 0: no limit.
    job_timeout_seconds: float = pydantic.Field(default=3600.0, ge=0)
    #: how long a job past its limit has to stop before it is failed and its thread abandoned.
    timeout_grace_seconds: float = pydantic.Field(default=10.0, ge=0)
    #: a worker holding this many abandoned threads stops (exit status 4) so that it is restarted.
    max_abandoned_threads: int = pydantic.Field(default=4, ge=1)
    #: an import reads its file in a child process with this much address space and CPU time at most.
    import_max_memory_mb: int = pydantic.Field(default=512, ge=64)
    import_max_cpu_seconds: int = pydantic.Field(default=3600, ge=1)
    #: when an isolated job's child ends, start the next one ahead, loaded and waiting (runner/spares.py).
    isolated_spare: bool = True
    #: OpenID Connect sign-in (docs/sign-in.md): the provider's issuer URL (empty: off), this client's id and secret.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    #: the name on the login page's button ("Sign in with ..."); the issuer's host name when empty.
    oidc_provider_name: str = ""
    #: the group that makes a user an admin, at every sign-in (OpenID claim or proxy header); empty: never changed.
    oidc_admin_group: str = ""
    #: the ID token claim that lists the user's groups.
    oidc_groups_claim: str = "groups"
    #: email domains allowed to sign in through OpenID Connect (comma-separated); empty: any.
    oidc_allowed_domains: str = ""
    #: the login form and the API's password sign-in; off, only the other modes sign anyone in.
    password_login: bool = True
    #: addresses or networks (comma-separated) whose user header is believed; empty: proxy sign-in is off.
    trusted_proxies: str = ""
    proxy_user_header: str = "X-Forwarded-User"
    proxy_groups_header: str = "X-Forwarded-Groups"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'jobdeck.sqlite3'}"

    @property
    def resolved_heartbeat_seconds(self) -> float:
        return self.heartbeat_seconds or self.lease_seconds / 4

    @property
    def resolved_reap_seconds(self) -> float:
        return self.reap_seconds or max(0.2, self.lease_seconds / 6)

    @property
    def resolved_secret_key(self) -> str:
        return self.secret_key or _PROCESS_SECRET

    @property
    def job_module_names(self) -> list[str]:
        return [name.strip() for name in self.job_modules.split(",") if name.strip()]

    @property
    def oidc_domains(self) -> frozenset[str]:
        return frozenset(d.strip().lower().lstrip("@") for d in self.oidc_allowed_domains.split(",") if d.strip())

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        parts = [part.strip() for part in self.trusted_proxies.split(",")]
        return [ipaddress.ip_network(part, strict=False) for part in parts if part]

    @pydantic.field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"{part.strip()!r} is not an address or network (10.0.0.5, 10.0.0.0/24)") from None
        return value

    @pydantic.model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_issuer.startswith(("https://", "http://"))):
            raise ValueError("JOBDECK_OIDC_ISSUER needs an http(s) URL and JOBDECK_OIDC_CLIENT_ID")
        return self

    @pydantic.field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        if value:
            check_database_url(value)
        return value

    @pydantic.field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: pathlib.Path) -> pathlib.Path:
        # Resolved once, when the settings are read: a relative folder would follow each command's current
        # directory, and a command run from elsewhere would find (or make) another, empty database.
        return value.expanduser().absolute()

    @pydantic.field_validator("import_fallback_encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            info = codecs.lookup(value)
        except LookupError:
            raise ValueError("not an encoding Python knows; try cp1252, latin-1 or utf-8") from None
        if not getattr(info, "_is_text_encoding", True):
            raise ValueError("not a text encoding; try cp1252, latin-1 or utf-8")
        return info.name

    @pydantic.model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Settings:
        if self.heartbeat_seconds and self.heartbeat_seconds > self.lease_seconds / 3:
            raise ValueError(
                f"JOBDECK_HEARTBEAT_SECONDS={self.heartbeat_seconds} must be at most a third of "
                f"JOBDECK_LEASE_SECONDS={self.lease_seconds}"
            )
        return self


_PROCESS_SECRET = secrets.token_urlsafe(32)
#: The databases jobdeck runs on (its SQL has a branch for each).
DATABASE_BACKENDS = ("sqlite", "postgresql")


def normalize_database_url(url: str) -> str:
    """A PostgreSQL URL without a driver uses psycopg (version 3), the driver jobdeck installs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def check_database_url(url: str) -> None:
    """Raise ValueError saying why jobdeck cannot use this URL: not a URL, another database, a driver that
    is not installed, or a SQLite file in a directory that does not exist (never created on a guess)."""
    try:
        parsed = sa.engine.make_url(normalize_database_url(url))
    except sa.exc.ArgumentError:
        raise ValueError("not a database URL; use sqlite:///path/to/file or postgresql://user:pass@host/db") from None
    backend = parsed.get_backend_name()
    if backend not in DATABASE_BACKENDS:
        raise ValueError(f"jobdeck runs on SQLite or PostgreSQL, not {backend}")
    try:
        parsed.get_dialect().import_dbapi()
    except (ImportError, sa.exc.NoSuchModuleError):
        raise ValueError(f"the database driver {parsed.get_driver_name()!r} is not installed") from None
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        directory = pathlib.Path(parsed.database).parent
        if not directory.is_dir():
            raise ValueError(f"the directory {str(directory)!r} does not exist; create it or fix the URL")


def shown_url(url: str) -> str:
    """A database URL as messages show it: without its password."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _shown(key: str, value: Any) -> str:
    """A value as a message shows it: a database URL without its password."""
    if key == "JOBDECK_DATABASE_URL" and isinstance(value, str):
        try:
            return repr(sa.engine.make_url(value).render_as_string(hide_password=True))
        except sa.exc.ArgumentError:
            pass
    return repr(value)


def _check_data_dir(settings: Settings, *, create: bool = True) -> None:
    """The data directory, when jobdeck keeps anything there, exists (it is created, unless `create` is off:
    then a missing one passes) and takes files."""
    if settings.database_url and settings.file_storage != "local":
        return  # the database holds everything: the directory is never used
    directory = settings.data_dir
    if not create and not directory.exists():
        blocker = next((p for p in directory.parents if p.exists()), None)
        if blocker is None or blocker.is_dir():
            return  # it could be created, by the command that creates the database
        raise errors.ConfigInvalid(
            f"JOBDECK_DATA_DIR={str(directory)!r}: cannot use it as the data directory: {str(blocker)!r} is a file"
        )
    if directory.exists() and not directory.is_dir():
        raise errors.ConfigInvalid(f"JOBDECK_DATA_DIR={str(directory)!r}: it is a file, not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise errors.ConfigInvalid(
            f"JOBDECK_DATA_DIR={str(directory)!r}: cannot use it as the data directory: {reason}"
        ) from None


def load(**overrides: object) -> Settings:
    """Read the settings from the environment, creating the data directory if it is missing; a bad value
    raises ConfigInvalid naming the variable and value."""
    settings = read(**overrides)
    _check_data_dir(settings)
    return settings


def read(**overrides: object) -> Settings:
    """The settings, checked like `load` does, without creating the data directory."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = "JOBDECK_" + "_".join(str(part) for part in err["loc"]).upper()
            # A check's own ValueError says what is wrong; pydantic would prefix it with "Value error, ".
            message = str(err["ctx"]["error"]) if err["type"] == "value_error" and "ctx" in err else err["msg"]
            problems.append(f"{key}={_shown(key, err.get('input'))}: {message}" if err["loc"] else message)
        raise errors.ConfigInvalid("; ".join(problems)) from None
    _check_data_dir(settings, create=False)
    return settings
