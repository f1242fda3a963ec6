"""Prometheus metrics read from the ledger at scrape time: jobs by status and type, queues, workers.

Every known series is exported, zero when nothing is counted: each status of each registered job type,
each queue a registered type runs on, and the workers' counters for each registered type, so dashboards
and alerts see a 0 rather than no data.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from jobdeck import model
from jobdeck.runner import instruments
from jobdeck.runner.registry import REGISTRY as JOB_TYPES
from jobdeck.runner.registry import Registry
from jobdeck.settings import MetricsWorkerLabel
from jobdeck.store import queues as queue_rows
from jobdeck.store import stats
from jobdeck.store.database import Database

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

CACHE_S = 5.0  # several scrapers (or a fast one) must not turn into a query storm
#: The outcomes a worker times a run under (runner.worker.Worker.execute): a final status, or the lease lost.
OUTCOMES = (*(s.value for s in model.Status if s.is_terminal), "lost")
#: What the reaper does with a job whose worker was lost (runner.worker.Worker.reap).
REAP_ACTIONS = ("requeued", "failed")


class LedgerCollector(Collector):
    def __init__(self) -> None:
        self._db: weakref.ref[Database] | None = None
        self._live_within_s = 60.0
        self._registry = JOB_TYPES
        self._worker_label: MetricsWorkerLabel = "id"
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] = (0.0, [])

    def watch(self, db: Database, live_within_s: float, registry: Registry, worker_label: MetricsWorkerLabel) -> None:
        with self._lock:
            self._db = weakref.ref(db)
            self._live_within_s = live_within_s
            self._registry = registry
            self._worker_label = worker_label
            self._cached = (0.0, [])
        zero_counters(registry)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            db = self._db() if self._db else None
            at, cached = self._cached
            if db is None:
                return iter(())
            if time.monotonic() - at > CACHE_S:
                cached = self._read(db)
                self._cached = (time.monotonic(), cached)
        return iter(cached)

    def _read(self, db: Database) -> list[Metric]:
        jobs = GaugeMetricFamily("jobdeck_jobs", "Jobs in the ledger by status and type", labels=["status", "type"])
        depth = GaugeMetricFamily("jobdeck_queue_depth", "Jobs waiting to be claimed", labels=["queue"])
        oldest = GaugeMetricFamily(
            "jobdeck_oldest_queued_age_seconds", "Age of the oldest job still waiting", labels=["queue"]
        )
        paused = GaugeMetricFamily("jobdeck_queue_paused", "1 while a queue is paused, else 0", labels=["queue"])
        live = GaugeMetricFamily("jobdeck_workers_live", "Workers that heartbeated within the lease")
        beat = GaugeMetricFamily(
            "jobdeck_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat",
            labels=[] if self._worker_label == "none" else ["worker"],
        )
        types = self._registry.all()
        counts = {(status.value, t.name): 0 for t in types for status in model.Status}
        queues: dict[str, tuple[int, float]] = {t.queue: (0, 0.0) for t in types}
        with db.read() as conn:
            found = stats.census(conn)
            recorded, paused_now = queue_rows.recorded(conn), queue_rows.paused_names(conn)
        counts.update(found.jobs)
        for (status, job_type), count in sorted(counts.items()):
            jobs.add_metric([status, job_type], count)
        for queue, state in found.queues.items():
            queues[queue] = (state.depth, found.age_s(state.oldest_at))
        for queue in recorded:
            queues.setdefault(queue, (0, 0.0))
        for queue, (count, age) in sorted(queues.items()):
            depth.add_metric([queue], count)
            oldest.add_metric([queue], age)
            paused.add_metric([queue], 1.0 if queue in paused_now else 0.0)
        ages = {worker_id: found.age_s(at) for worker_id, at in found.heartbeats.items()}
        for labels, age in self._worker_ages(ages):
            beat.add_metric(labels, age)
        live.add_metric([], found.live_workers(self._live_within_s))
        zero_counters(self._registry)  # types registered since watch()
        return [jobs, depth, oldest, paused, live, beat]

    def _worker_ages(self, ages: dict[str, float]) -> list[tuple[list[str], float]]:
        """Heartbeat ages under the configured label: one per worker id (a new series at every start), or one
        per host name, or one in all; a group reports its freshest heartbeat (a dead worker's row, which stays
        until someone removes it, does not hide the live ones; jobdeck_workers_live counts them)."""
        if self._worker_label == "id":
            return [([worker_id], age) for worker_id, age in ages.items()]
        freshest: dict[str, float] = {}
        for worker_id, age in ages.items():
            key = host_of(worker_id) if self._worker_label == "host" else ""
            freshest[key] = min(age, freshest.get(key, age))
        if self._worker_label == "host":
            return [([hostname], age) for hostname, age in sorted(freshest.items())]
        return [([], age) for age in freshest.values()]


def host_of(worker_id: str) -> str:
    """The host name a worker id starts with (runner.worker.Worker makes it "host:pid:random")."""
    return worker_id.rsplit(":", 2)[0]


def zero_counters(registry: Registry) -> None:
    """Give the workers' labelled counters a sample for each registered type before its first event."""
    for job_type in registry.all():
        for outcome in OUTCOMES:
            instruments.JOB_DURATION.labels(job_type.name, outcome)
    for action in REAP_ACTIONS:
        instruments.REAPED.labels(action)


COLLECTOR = LedgerCollector()
REGISTRY.register(COLLECTOR)


def watch(
    db: Database, live_within_s: float, registry: Registry = JOB_TYPES, worker_label: MetricsWorkerLabel = "id"
) -> None:
    """Report this database's ledger at /metrics (the process's most recently opened one); a worker
    counts as live when it heartbeated within `live_within_s`; zeros are exported for `registry`'s types."""
    COLLECTOR.watch(db, live_within_s, registry, worker_label)
