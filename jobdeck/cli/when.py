"""`--in SECONDS` / `--at ISO-8601`: when a job enqueued from the command line may start."""

from __future__ import annotations

import datetime as dt

import click

MAX_DELAY_S = 366 * 24 * 3600

in_option = click.option(
    "--in", "delay", type=click.FloatRange(0, MAX_DELAY_S), metavar="SECONDS", help="Run it this many seconds from now."
)
at_option = click.option("--at", "at", metavar="ISO-8601", help="Run it at this time (UTC unless it names a zone).")


def parse_at(text: str) -> dt.datetime:
    """An ISO 8601 time; without a zone it is UTC. A time already past runs the job now."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        example = "2026-12-01T14:05 (UTC) or 2026-12-01T15:05+01:00"
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time, e.g. {example}", param_hint="--at") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def start_time(delay: float | None, at: str | None) -> tuple[dt.datetime | None, float | None]:
    """(not_before, delay_seconds) from the two options; giving both is a usage error."""
    if delay is not None and at is not None:
        raise click.UsageError("Give --in or --at, not both.")
    return (parse_at(at) if at is not None else None), delay
