"""`jobdeck worker`: a worker process, run until stopped (SIGTERM/SIGINT are graceful) or, with --burst, until idle."""

from __future__ import annotations

import sys

import click

from jobdeck.cli.db import one_line_errors, open_service
from jobdeck.runner import supervisor


@click.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Jobs run at once, one thread each  [default: JOBDECK_WORKERS, at least 1].",
)
@click.option(
    "--prefetch",
    type=click.IntRange(0, 10_000),
    default=None,
    help="Jobs claimed ahead of free threads, ready when one frees up  [default: JOBDECK_PREFETCH].",
)
@click.option("--burst", is_flag=True, help="Exit once nothing is queued or running (for scripts and benchmarks).")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    metavar="Q",
    help="Take jobs from this queue; repeat for several  [default: default].",
)
@one_line_errors
def worker(concurrency: int | None, prefetch: int | None, burst: bool, queues: tuple[str, ...]) -> None:
    """Run jobs. Stop with SIGTERM or Ctrl-C: running jobs get the grace period
    (JOBDECK_SHUTDOWN_GRACE_SECONDS) to finish, then go back to the queue; a second signal stops at once."""
    with open_service() as service:
        options = {"prefetch": prefetch} if prefetch is not None else {}
        pool = service.worker(concurrency, queues=queues or ("default",), **options)
        status = supervisor.run_in_foreground(pool, burst=burst)
    sys.exit(status)


def register(cli: click.Group) -> None:
    """Add this module's commands to the `jobdeck` group."""
    cli.add_command(worker)
