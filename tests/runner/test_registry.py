"""Job types: what a registered type puts on each new job of its kind."""

from __future__ import annotations

from jobdeck import model
from jobdeck.runner.registry import Registry


def registry() -> Registry:
    types = Registry()
    types.job_type(
        "export", title="Export", tab=model.Tab.IMPORTS, max_attempts=4, queue="slow", describe=lambda p: f"Export {p}"
    )(lambda ctx: None)
    return types


def test_a_new_job_takes_its_types_queue_tab_attempts_and_description() -> None:
    new = registry().get("export").new_job({"rows": 3}, run_by_id=7, run_at="/imports/new")
    assert (new.type, new.queue, new.tab, new.max_attempts) == ("export", "slow", model.Tab.IMPORTS, 4)
    assert (new.description, new.params, new.run_by_id, new.run_at) == (
        "Export {'rows': 3}",
        {"rows": 3},
        7,
        "/imports/new",
    )


def test_a_given_description_replaces_the_one_the_type_would_write() -> None:
    new = registry().get("export").new_job({}, description="Export (scheduled)", idempotency_key="k", retry_of=3)
    assert (new.description, new.idempotency_key, new.retry_of) == ("Export (scheduled)", "k", 3)
