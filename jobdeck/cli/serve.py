"""`jobdeck serve`: the web application with embedded workers, under uvicorn."""

from __future__ import annotations

import contextlib
import importlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

import click
import uvicorn

from jobdeck import errors, settings
from jobdeck.runner.supervisor import EmbeddedWorkers
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
    from jobdeck.web.app import create_app, embedded_workers

    try:
        overrides = {"workers": workers} if workers is not None else {}
        config = settings.load(**overrides)
        service = Service(Wiring.open(config))
    except errors.JobdeckError as exc:
        raise click.ClickException(exc.message) from exc
    notice = ""
    if demo:
        seed = importlib.import_module(DEMO_SEED)
        notice = seed.credentials_block(seed.ensure_demo(service))
    click.echo(f"jobdeck on http://{host}:{port}/ ({config.workers} worker thread(s))")
    app = create_app(service)
    # No proxy_headers: the app applies X-Forwarded-For itself, once the proxy sign-in has seen the real peer.
    server = _Server(
        uvicorn.Config(app, host=host, port=port, proxy_headers=False, server_header=False),
        embedded_workers(app),
        config.shutdown_grace_seconds,
    )
    if notice:
        threading.Thread(target=_announce, args=(server, notice), name="announce", daemon=True).start()
    try:
        server.run()
    finally:
        service.close()


class _Server(uvicorn.Server):
    """uvicorn's server, saying on the first Ctrl-C (or SIGTERM) how long it waits and for how many jobs, and
    on a second Ctrl-C handing the running jobs back to the queue at once instead of waiting out the grace."""

    def __init__(self, config: uvicorn.Config, workers: EmbeddedWorkers | None, grace_seconds: float) -> None:
        super().__init__(config)
        self.workers = workers
        self.grace_seconds = grace_seconds

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """This server's own signal handlers, restored afterwards. Unlike uvicorn's, they do not raise the signal
        again once the server has shut down: the shutdown is the whole reaction to Ctrl-C, and a
        KeyboardInterrupt then would only print a traceback."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self.handle_exit) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            if sig == signal.SIGINT:
                # Not uvicorn's forced exit: that would skip the lifespan shutdown, which waits for the worker
                # thread, and the process could end halfway through handing the jobs back.
                click.echo("Stopping now: handing the running jobs back to the queue")
                if self.workers is not None:
                    self.workers.hurry()
            return
        self.should_exit = True
        running = len(self.workers.running()) if self.workers is not None else 0
        click.echo(
            f"Stopping: waiting up to {self.grace_seconds:g} s for {running} running job(s) to finish "
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
