"""`jobdeck serve`: the web application with embedded workers, under uvicorn."""

from __future__ import annotations

import importlib

import click

from jobdeck import errors, settings
from jobdeck.service import Service

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
    import uvicorn

    from jobdeck.web.app import create_app

    try:
        overrides = {"workers": workers} if workers is not None else {}
        config = settings.load(**overrides)
        service = Service.open(config)
    except errors.JobdeckError as exc:
        raise click.ClickException(exc.message) from exc
    if demo:
        importlib.import_module(DEMO_SEED).ensure_demo(service)
    click.echo(f"jobdeck on http://{host}:{port}/ ({config.workers} worker thread(s))")
    try:
        uvicorn.run(create_app(service), host=host, port=port, proxy_headers=True, server_header=False)
    finally:
        service.close()


def register(cli: click.Group) -> None:
    """Add this module's commands to the `jobdeck` group."""
    cli.add_command(serve)
