"""`jobdeck serve`: the web application with embedded workers, under uvicorn."""

from __future__ import annotations

import importlib
import signal
import threading
import time
from types import FrameType
from typing import Any

import click
import uvicorn

from jobdeck import errors, settings
from jobdeck.runner.worker import Worker
from jobdeck.service import Service
from jobdeck.wiring import Wiring

#: The module `--demo` runs, loaded by name: nothing in jobdeck imports the demo.
DEMO_SEED = "jobdeck.demo.seed"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--workers", type=click.IntRange(0, 256), default=None, help="Worker threads (overrides JOBDECK_WORKERS)."
)
@click.option("--demo", is_flag=True, help="Create the demo users and a little job history first.")
def serve(host: str, port: int, workers: int | None, demo: bool) -> None:
    """Serve the Job Management page and the API (web + workers + the configured database)."""
    from jobdeck.web.app import create_app

    try:
        overrides = {"workers": workers} if workers is not None else {}
        config = settings.load(**overrides)
        service = _ServedService(Wiring.open(config))
    except errors.JobdeckError as exc:
        raise click.ClickException(exc.message) from exc
    notice = ""
    if demo:
        seed = importlib.import_module(DEMO_SEED)
        notice = seed.credentials_block(seed.ensure_demo(service))
    click.echo(f"jobdeck on http://{host}:{port}/ ({config.workers} worker thread(s))")
    service.serving = True
    # No proxy_headers: the app applies X-Forwarded-For itself, once the proxy sign-in has seen the real peer.
    server = _Server(
        uvicorn.Config(create_app(service), host=host, port=port, proxy_headers=False, server_header=False),
        service,
    )
    if notice:
        threading.Thread(target=_announce, args=(server, notice), name="announce", daemon=True).start()
    try:
        server.run()
    finally:
        service.close()


class _ServedService(Service):
    """The service, keeping the worker pools the server starts, so that Ctrl-C can say what it waits for
    and a second one can hand the running jobs back at once."""

    def __init__(self, wiring: Wiring) -> None:
        super().__init__(wiring)
        self.serving = False  # set once the demo's own burst workers are done: only the server's are kept
        self.pools: list[Worker] = []

    def worker(self, concurrency: int | None = None, **overrides: Any) -> Worker:
        made = super().worker(concurrency, **overrides)
        if self.serving:
            self.pools.append(made)
        return made


class _Server(uvicorn.Server):
    """uvicorn's server, saying on the first Ctrl-C (or SIGTERM) how long it waits and for how many jobs, and
    on a second Ctrl-C handing the running jobs back to the queue at once instead of waiting out the grace."""

    def __init__(self, config: uvicorn.Config, service: _ServedService) -> None:
        super().__init__(config)
        self.service = service

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        pools = self.service.pools
        if self.should_exit and sig == signal.SIGINT:
            # Not passed on: uvicorn's forced exit would skip the lifespan shutdown, which waits for the worker
            # thread, and the process could end halfway through handing the jobs back.
            click.echo("Stopping now: handing the running jobs back to the queue")
            for pool in pools:
                pool.stop(0)
            return
        first = not self.should_exit
        super().handle_exit(sig, frame)
        # uvicorn raises the signals again once it has shut down, for the process's default reaction; here the
        # shutdown is the whole reaction, and a KeyboardInterrupt then would only print a traceback.
        self._captured_signals.clear()
        if first:
            running = sum(1 for ctx, _ in (h for p in pools for h in p.pool.held()) if ctx.started)
            grace = self.service.settings.shutdown_grace_seconds
            click.echo(
                f"Stopping: waiting up to {grace:g} s for {running} running job(s) to finish "
                "(Ctrl-C again to hand them back now)"
            )


def _announce(server: uvicorn.Server, notice: str) -> None:
    """Print the notice once the server says it is up, so it stands below the start-up log, not among it."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.1)
    click.echo("\n" + notice + "\n")


def register(cli: click.Group) -> None:
    """Add this module's commands to the `jobdeck` group."""
    cli.add_command(serve)
