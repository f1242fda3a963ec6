"""`jobdeck serve`: the web application with embedded workers, under uvicorn."""

from __future__ import annotations

import importlib
import threading
import time
from typing import TYPE_CHECKING

import click

from jobdeck import errors, settings
from jobdeck.service import Service

if TYPE_CHECKING:
    import uvicorn

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
    import uvicorn  # here, so `jobdeck --help` stays quick

    from jobdeck.web.app import create_app

    try:
        overrides = {"workers": workers} if workers is not None else {}
        config = settings.load(**overrides)
        service = Service.open(config)
    except errors.JobdeckError as exc:
        raise click.ClickException(exc.message) from exc
    notice = ""
    if demo:
        seed = importlib.import_module(DEMO_SEED)
        notice = seed.credentials_block(seed.ensure_demo(service))
    click.echo(f"jobdeck on http://{host}:{port}/ ({config.workers} worker thread(s))")
    server = uvicorn.Server(
        uvicorn.Config(create_app(service), host=host, port=port, proxy_headers=True, server_header=False)
    )
    if notice:
        threading.Thread(target=_announce, args=(server, notice), name="announce", daemon=True).start()
    try:
        server.run()
    finally:
        service.close()


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
