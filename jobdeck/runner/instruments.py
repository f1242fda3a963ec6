"""What workers measure in-process, for /metrics: run durations and outcomes."""

from __future__ import annotations

import prometheus_client

#: seconds from a job's start on this worker to its outcome
JOB_DURATION = prometheus_client.Histogram(
    "jobdeck_job_duration_seconds",
    "Time a job ran on this process, by type and outcome",
    ["type", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
STALE_WRITES = prometheus_client.Counter(
    "jobdeck_stale_writes_rejected",
    "Results of runs whose lease had been lost (reclaimed elsewhere), refused by fencing",
)
REAPED = prometheus_client.Counter(
    "jobdeck_jobs_reaped", "Jobs whose worker was lost, by what happened to them", ["action"]
)
