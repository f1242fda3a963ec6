"""Prometheus metrics read from the ledger at scrape time: jobs by status and type, queues, workers."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from jobdeck.store import stats
from jobdeck.store.database import Database

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

CACHE_S = 5.0  # several scrapers (or a fast one) must not turn into a query storm


class LedgerCollector(Collector):
    def __init__(self) -> None:
        self._db: weakref.ref[Database] | None = None
        self._live_within_s = 60.0
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] = (0.0, [])

    def watch(self, db: Database, live_within_s: float) -> None:
        with self._lock:
            self._db = weakref.ref(db)
            self._live_within_s = live_within_s
            self._cached = (0.0, [])

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
        live = GaugeMetricFamily("jobdeck_workers_live", "Workers that heartbeated within the lease")
        beat = GaugeMetricFamily(
            "jobdeck_worker_heartbeat_age_seconds", "Seconds since each worker's last heartbeat", labels=["worker"]
        )
        with db.read() as conn:
            found = stats.census(conn)
        for (status, job_type), count in found.jobs.items():
            jobs.add_metric([status, job_type], count)
        for queue, state in found.queues.items():
            depth.add_metric([queue], state.depth)
            oldest.add_metric([queue], found.age_s(state.oldest_at))
        for worker_id, at in found.heartbeats.items():
            beat.add_metric([worker_id], found.age_s(at))
        live.add_metric([], found.live_workers(self._live_within_s))
        return [jobs, depth, oldest, live, beat]


COLLECTOR = LedgerCollector()
REGISTRY.register(COLLECTOR)


def watch(db: Database, live_within_s: float) -> None:
    """Report this database's ledger at /metrics (the process's most recently opened one); a worker
    counts as live when it heartbeated within `live_within_s`."""
    COLLECTOR.watch(db, live_within_s)
