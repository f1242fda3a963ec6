"""jobdeck: background jobs, imports and the Job Management page that shows them."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`jobdeck.mount` and `jobdeck.HostUser`, imported on first use: the web layer stays out of the workers and
    the command line until they ask for it."""
    if name in ("mount", "HostUser", "Mounted"):
        from jobdeck.web import mount

        return getattr(mount, name)
    raise AttributeError(f"module 'jobdeck' has no attribute {name!r}")
