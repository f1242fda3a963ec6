"""The operator's view: the workers with the jobs they run now, the queues with their depth, oldest waiting job
and pause, and pausing and resuming a queue. Admins only (access.can_operate), in every interface at once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jobdeck import access, errors, model
from jobdeck.store import queues as queue_rows
from jobdeck.store import roster
from jobdeck.wiring import Wiring

if TYPE_CHECKING:
    import sqlalchemy as sa

log = logging.getLogger(__name__)

QueueState = queue_rows.QueueState
WorkerState = roster.WorkerState


class Operations:
    """Workers and queues over one process's wiring."""

    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring

    def workers(self, user: model.User | None) -> list[WorkerState]:
        """Every registered worker with the jobs it is running now."""
        self._check(user)
        with self.wiring.db.read() as conn:
            return roster.workers(conn)

    def queues(self, user: model.User | None) -> list[QueueState]:
        """Every known queue (a registered type's, one with jobs waiting or running, one ever paused), by name."""
        self._check(user)
        with self.wiring.db.read() as conn:
            return queue_rows.states(conn, self._known(conn))

    def queue(self, user: model.User | None, name: str) -> QueueState:
        self._check(user)
        with self.wiring.db.read() as conn:
            return self._state(conn, name)

    def pause(self, user: model.User | None, name: str) -> QueueState:
        """Stop workers claiming this queue's jobs; jobs already running finish normally."""
        return self._set(user, name, paused=True)

    def resume(self, user: model.User | None, name: str) -> QueueState:
        return self._set(user, name, paused=False)

    def _set(self, user: model.User | None, name: str, *, paused: bool) -> QueueState:
        self._check(user)
        assert user is not None
        with self.wiring.db.write() as conn:
            self._state(conn, name)  # an unknown queue is refused before anything is written
            changed = queue_rows.set_paused(conn, name, paused, user.id)
            if changed and not paused:
                self.wiring.db.notify_new_work(conn)  # idle workers claim the waiting jobs now, not at their poll
            state = self._state(conn, name)
        if changed:
            log.info("queue %s %s by %s", name, "paused" if paused else "resumed", user.username)
        return state

    def _state(self, conn: sa.Connection, name: str) -> QueueState:
        if name not in self._known(conn):
            raise errors.QueueNotFound(f"No queue named {name!r}.")
        return next(s for s in queue_rows.states(conn, [name]) if s.name == name)

    def _known(self, conn: sa.Connection) -> set[str]:
        return queue_rows.known(conn, {t.queue for t in self.wiring.registry.all()})

    @staticmethod
    def _check(user: model.User | None) -> None:
        if not access.can_operate(user):
            raise errors.NotAllowed()
