"""jobdeck: background jobs, imports and the Job Management page that shows them.

An application's own code needs only what this package exports: `job_type` to register a job type (it
returns a `RegisteredJobType`, whose `enqueue` and `enqueue_many` add jobs of that type), `JobContext` (what a
job function is given) and `configure` (which database those calls write to when given no connection). They
are imported on first use, so `import jobdeck.<module>` stays as light as that module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from jobdeck.runner.context import JobContext as JobContext
    from jobdeck.runner.enqueue import RegisteredJobType as RegisteredJobType
    from jobdeck.runner.registry import JobType as JobType
    from jobdeck.runner.registry import job_type as job_type
    from jobdeck.service import Service
    from jobdeck.settings import Settings
    from jobdeck.web.mount import HostUser as HostUser
    from jobdeck.web.mount import Mounted as Mounted
    from jobdeck.web.mount import mount as mount

#: name -> the module it is defined in
_EXPORTS = {
    "job_type": "jobdeck.runner.registry",
    "JobType": "jobdeck.runner.registry",
    "JobContext": "jobdeck.runner.context",
    "RegisteredJobType": "jobdeck.runner.enqueue",
    # The web layer stays out of the workers and the command line until an application mounts the page.
    "mount": "jobdeck.web.mount",
    "HostUser": "jobdeck.web.mount",
    "Mounted": "jobdeck.web.mount",
}
__all__ = [
    "HostUser",
    "JobContext",
    "JobType",
    "Mounted",
    "RegisteredJobType",
    "__version__",
    "configure",
    "job_type",
    "mount",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jobdeck' has no attribute {name!r}")


def configure(settings: Settings | None = None, *, upgrade: bool = True) -> Service:
    """Open jobdeck for this process: import JOBDECK_JOB_MODULES, connect to the database of `settings` (by
    default the JOBDECK_* environment variables), bring its schema up to date (`upgrade=False`: refuse one
    that is not current), and make it the database that `enqueue` writes to when given no connection.

    Returns the service over it (workers, reading jobs back); `close()` it at exit. Call it once, at start-up."""
    from jobdeck import settings as settings_module
    from jobdeck.service import Service

    return Service.open(settings or settings_module.load(), upgrade=upgrade)
