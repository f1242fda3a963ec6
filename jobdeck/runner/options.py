"""How a worker runs: one value, built from the settings, with a caller's (or CLI flag's) overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from jobdeck.runner.registry import JobType
from jobdeck.settings import Settings


@dataclasses.dataclass(frozen=True)
class WorkerOptions:
    #: the process's settings, handed to every job (limits, chunk sizes)
    settings: Settings
    concurrency: int = 4  #: jobs run at once, one thread each
    #: jobs claimed beyond the free threads, so the next batch is ready when a thread frees up;
    #: they count as In Progress while they wait, so keep it small for long jobs
    prefetch: int = 0
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 7.5
    reap_seconds: float = 5.0
    poll_seconds: float = 1.0
    shutdown_grace_seconds: float = 20.0
    #: how often to look for due scheduled jobs; 0 turns the scheduler off in this worker
    schedule_seconds: float = 5.0
    queues: tuple[str, ...] = ("default",)
    #: a run's limit when its job type names none; 0: no limit
    job_timeout_seconds: float = 3600.0
    #: how long a job past its limit has to stop before it is failed and its thread abandoned
    timeout_grace_seconds: float = 10.0
    #: abandoned threads (still stuck in a job) at which the worker drains and stops
    max_abandoned_threads: int = 4

    @classmethod
    def from_settings(cls, config: Settings, **overrides: Any) -> WorkerOptions:
        """The options the JOBDECK_* settings give, with `overrides` (keyword per field) on top."""
        values: dict[str, Any] = {
            "concurrency": max(1, config.workers),
            "prefetch": config.prefetch,
            "lease_seconds": config.lease_seconds,
            "heartbeat_seconds": config.resolved_heartbeat_seconds,
            "reap_seconds": config.resolved_reap_seconds,
            "poll_seconds": config.poll_seconds,
            "shutdown_grace_seconds": config.shutdown_grace_seconds,
            "job_timeout_seconds": config.job_timeout_seconds,
            "timeout_grace_seconds": config.timeout_grace_seconds,
            "max_abandoned_threads": config.max_abandoned_threads,
            "settings": config,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values.get("queues"), Sequence):
            values["queues"] = tuple(values["queues"])
        values["concurrency"] = max(1, values["concurrency"])
        values["prefetch"] = max(0, values["prefetch"])
        return cls(**values)

    def time_limit(self, job_type: JobType) -> float | None:
        """Seconds a run of this type may take; None when it has no limit."""
        limit = self.job_timeout_seconds if job_type.timeout is None else job_type.timeout
        return limit or None
