"""Acting on every job a listing matches: count them, cancel or retry them all, export them.

The jobs are the caller's listing, filtered by the one visibility rule inside the query (an administrator's
matches every job; anyone else's only their own), walked in keyset pages so memory stays bounded whatever
their number. Each job is then acted on as by the single action: the same checks, the same transition, and
its own audit entry, marked as part of a bulk action (a retry is Service.retry itself; a cancel is its rule
and store.audit.cancel_many, a few statements per page rather than per job)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator

from jobdeck import access, errors, model
from jobdeck.query import MAX_PAGE, JobQuery
from jobdeck.service import Service
from jobdeck.store import audit, listing

#: Jobs read per page of a walk.
PAGE = MAX_PAGE


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a bulk action did: `acted` on how many of the `matched` jobs; the `skipped` ones were not in a
    state that allows the action (finished meanwhile, not failed, a type the caller may not start)."""

    matched: int
    acted: int
    skipped: int


def count(service: Service, user: model.User, query: JobQuery) -> int:
    """How many jobs the caller's listing with this filter holds, over all its pages."""
    if not access.can_list(user):
        return 0
    with service.db.read() as conn:
        return listing.count_jobs(conn, dataclasses.replace(query.filter, visible_to=access.visible_to(user)))


def pages(service: Service, user: model.User, query: JobQuery) -> Iterator[list[model.Job]]:
    """The caller's listing, one keyset page at a time, in the query's order (its cursor and page size are
    ignored). The first page is read now, so a bad query fails before anything is sent."""
    start = dataclasses.replace(query, cursor=None, limit=PAGE)
    first = service.list_jobs(user, start)

    def rest() -> Iterator[list[model.Job]]:
        page = first
        while True:
            yield page.items
            if page.next_cursor is None:
                return
            page = service.list_jobs(user, dataclasses.replace(start, cursor=page.next_cursor))

    return rest()


def walk(service: Service, user: model.User, query: JobQuery) -> Iterator[model.Job]:
    """Every job of the caller's listing, in the query's order (see pages)."""
    return itertools.chain.from_iterable(pages(service, user, query))


def _checked(
    service: Service, user: model.User, query: JobQuery, confirm: int
) -> tuple[int, Iterator[list[model.Job]]]:
    """The pages of matching jobs, newest first, once their number is the one the caller confirmed. Newest
    first by id, so a job created while the walk runs (above its first page) is never reached by it."""
    matched = count(service, user, query)
    if matched != confirm:
        raise errors.CountChanged(matched, confirm)
    return matched, pages(service, user, dataclasses.replace(query, sort="id", order="desc"))


def cancel_all(service: Service, user: model.User, query: JobQuery, confirm: int) -> Outcome:
    """Cancel every queued job the query matches and ask every running one to stop; CountChanged (nothing
    done) unless `confirm` is the number of jobs it matches. The single Cancel's rule and transition, one
    transaction per page (a job that finished since its page was read is skipped)."""
    matched, found = _checked(service, user, query, confirm)
    acted = 0
    for page in found:
        allowed = [job.id for job in page if access.can_cancel(user, job)]
        with service.db.write() as conn:
            acted += len(audit.cancel_many(conn, allowed, user, "bulk_cancel"))
    return Outcome(matched, acted, matched - acted)


def retry_all(service: Service, user: model.User, query: JobQuery, confirm: int) -> Outcome:
    """Retry every failed job the query matches, each as a new job, through the single Retry (its rules: a
    poison job only for an admin, a type the caller may start); CountChanged (nothing done) unless `confirm`
    is the number of jobs it matches."""
    matched, found = _checked(service, user, query, confirm)
    acted = 0
    for job in itertools.chain.from_iterable(found):
        if job.status is not model.Status.FAILED:
            continue
        try:
            service.retry(user, job.id, "bulk_retry")
        except (errors.InvalidTransition, errors.JobNotFound):
            continue  # refused by the single action's rules, or gone since its page was read: skipped
        acted += 1
    return Outcome(matched, acted, matched - acted)


#: The bulk actions by name, as the page, the API and the CLI name them.
ACTIONS: dict[str, Callable[[Service, model.User, JobQuery, int], Outcome]] = {
    "cancel": cancel_all,
    "retry": retry_all,
}
