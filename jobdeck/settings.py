"""One settings object: every knob is a JOBDECK_* environment variable."""

from __future__ import annotations

import pathlib
import secrets
from typing import Literal

import pydantic
import pydantic_settings

from jobdeck import errors


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
    #: failed logins per account before it is locked for login_lock_minutes.
    login_max_failures: int = pydantic.Field(default=5, ge=1)
    login_lock_minutes: int = pydantic.Field(default=15, ge=1)
    #: import limits.
    import_chunk_rows: int = pydantic.Field(default=5000, ge=1)
    import_max_rows: int = pydantic.Field(default=5_000_000, ge=1)
    import_max_columns: int = pydantic.Field(default=200, ge=1)
    import_max_cell_chars: int = pydantic.Field(default=10_000, ge=1)
    import_max_xlsx_uncompressed_mb: int = pydantic.Field(default=500, ge=1)
    import_fallback_encoding: str = "cp1252"
    #: an import reads its file in a child process with this much address space and CPU time at most.
    import_max_memory_mb: int = pydantic.Field(default=512, ge=64)
    import_max_cpu_seconds: int = pydantic.Field(default=3600, ge=1)

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

    @pydantic.model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Settings:
        if self.heartbeat_seconds and self.heartbeat_seconds > self.lease_seconds / 3:
            raise ValueError(
                f"JOBDECK_HEARTBEAT_SECONDS={self.heartbeat_seconds} must be at most a third of "
                f"JOBDECK_LEASE_SECONDS={self.lease_seconds}"
            )
        return self


_PROCESS_SECRET = secrets.token_urlsafe(32)


def load(**overrides: object) -> Settings:
    """Read the settings from the environment; a bad value raises ConfigInvalid naming the variable and value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = "JOBDECK_" + "_".join(str(part) for part in err["loc"]).upper()
            problems.append(f"{key}={err.get('input')!r}: {err['msg']}" if err["loc"] else err["msg"])
        raise errors.ConfigInvalid("; ".join(problems)) from None
