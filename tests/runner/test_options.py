"""Worker options: read from the settings in one place, a caller's (or a CLI flag's) value on top."""

from __future__ import annotations

from jobdeck import settings
from jobdeck.runner.options import WorkerOptions


def test_worker_options_come_from_the_settings() -> None:
    config = settings.load(workers=3, prefetch=7, lease_seconds=12.0, poll_seconds=0.5, shutdown_grace_seconds=4.0)
    options = WorkerOptions.from_settings(config)
    assert (options.concurrency, options.prefetch, options.poll_seconds) == (3, 7, 0.5)
    assert (options.lease_seconds, options.heartbeat_seconds, options.reap_seconds) == (12.0, 3.0, 2.0)
    assert options.shutdown_grace_seconds == 4.0 and options.settings is config


def test_an_override_wins_over_the_setting_and_none_keeps_the_setting() -> None:
    config = settings.load(workers=3, prefetch=7)
    options = WorkerOptions.from_settings(config, concurrency=1, prefetch=None, queues=["imports", "default"])
    assert (options.concurrency, options.prefetch, options.queues) == (1, 7, ("imports", "default"))


def test_a_web_server_without_workers_still_gets_one_thread_when_it_runs_jobs() -> None:
    assert WorkerOptions.from_settings(settings.load(workers=0)).concurrency == 1
