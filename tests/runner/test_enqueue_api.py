"""The application API: `export.enqueue(...)` on the registered type, in the caller's transaction or its own,
and job functions that take their params as the type's model."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
import sqlalchemy as sa
import sqlalchemy.orm

import jobdeck
from jobdeck import errors, model
from jobdeck.runner import enqueue
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import Registry, job_type
from jobdeck.service import Service
from jobdeck.settings import Settings
from jobdeck.store import jobs, schema


class Region(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    region: str = pydantic.Field(min_length=1, max_length=20)
    rows: int = 1


class Other(pydantic.BaseModel):
    region: str


@job_type(
    "t_api_export",
    title="API export",
    tab=model.Tab.GENERAL,
    audience="everyone",
    params=Region,
    describe=lambda p: f"Export {p['region']}",
    max_attempts=3,
    queue="reports",
)
def api_export(ctx: JobContext, params: Region) -> str:
    ctx.log(f"{params.region}: {params.rows} rows")
    return params.region


@job_type("t_api_params_only", audience="everyone")
def api_params_only(params: Region) -> None:
    if params.region == "nowhere":
        raise errors.JobFailed(f"No orders in {params.region}.")


@job_type("t_api_unique", audience="everyone", params=Region, unique_key=lambda p: p["region"])
def api_unique(ctx: JobContext) -> None:
    ctx.log(Region.model_validate(ctx.params).region)


@job_type("t_api_chain", audience="everyone")
def api_chain(ctx: JobContext) -> None:
    """Enqueues its follow-up job through the application API, as a job function may."""
    followed_by = api_params_only.enqueue({"region": "next"}, run_by=ctx.run_by_id)
    ctx.log(f"followed by {followed_by}")


@pytest.fixture
def configured(service: Service) -> Iterator[Service]:
    """The service's database is the one `enqueue` writes to without a connection, as after jobdeck.configure()."""
    enqueue.use(service.db, service.settings)
    yield service
    enqueue.forget(service.db)


def stored(service: Service, job_id: int) -> model.Job:
    with service.db.read() as conn:
        return jobs.get(conn, job_id)


def count_jobs(service: Service) -> int:
    with service.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.jobs)).scalar_one())


def test_enqueue_gives_the_job_its_types_queue_tab_attempts_and_description(configured: Service) -> None:
    job_id = api_export.enqueue({"region": "north"})
    job = stored(configured, job_id)
    assert (job.type, job.queue, job.tab, job.max_attempts) == ("t_api_export", "reports", model.Tab.GENERAL, 3)
    assert (job.description, job.params, job.run_by_id) == ("Export north", {"region": "north", "rows": 1}, None)


def test_enqueue_takes_an_instance_of_the_types_model(configured: Service) -> None:
    job_id = api_export.enqueue(Region(region="south", rows=4))
    assert stored(configured, job_id).params == {"region": "south", "rows": 4}


def test_enqueue_in_the_callers_transaction_that_rolls_back_leaves_no_job(service: Service) -> None:
    with pytest.raises(RuntimeError), service.db.write() as conn:
        api_export.enqueue({"region": "north"}, connection=conn)
        raise RuntimeError("the order could not be saved")
    assert count_jobs(service) == 0


def test_enqueue_in_the_callers_transaction_that_commits_adds_one_job(service: Service) -> None:
    with service.db.write() as conn:
        job_id = api_export.enqueue({"region": "north"}, connection=conn)
    assert count_jobs(service) == 1
    assert stored(service, job_id).status is model.Status.QUEUED


def test_enqueue_in_an_orm_session_commits_and_rolls_back_with_the_session(service: Service) -> None:
    with sqlalchemy.orm.Session(service.db.engine) as session:
        api_export.enqueue({"region": "north"}, connection=session)
        session.rollback()
        assert count_jobs(service) == 0
        kept = api_export.enqueue({"region": "south"}, connection=session)
        session.commit()
    assert count_jobs(service) == 1
    assert stored(service, kept).params["region"] == "south"


def test_enqueue_many_gives_each_job_its_own_params(configured: Service) -> None:
    ids = api_export.enqueue_many([{"region": "north"}, {"region": "south", "rows": 2}, Region(region="east")])
    assert [stored(configured, i).params for i in ids] == [
        {"region": "north", "rows": 1},
        {"region": "south", "rows": 2},
        {"region": "east", "rows": 1},
    ]


def test_invalid_params_are_refused_with_the_field_named_and_no_job_is_written(configured: Service) -> None:
    with pytest.raises(errors.InvalidParams, match="region"):
        api_export.enqueue_many([{"region": "north"}, {"region": ""}])
    with pytest.raises(errors.InvalidParams, match="colour"):
        api_export.enqueue({"region": "north", "colour": "red"})
    assert count_jobs(configured) == 0


def test_params_of_another_model_are_refused(configured: Service) -> None:
    with pytest.raises(errors.InvalidParams, match="Other given, Region expected"):
        api_export.enqueue(Other(region="north"))


def test_run_by_puts_the_job_in_that_users_name(configured: Service, alice: model.User) -> None:
    by_id = api_export.enqueue({"region": "north"}, run_by=alice.id, page="/orders/7")
    by_user = api_export.enqueue({"region": "north"}, run_by=alice)
    assert configured.get_job(alice, by_id).run_by_id == alice.id
    assert configured.get_job(alice, by_id).run_at == "/orders/7"
    assert configured.get_job(alice, by_user).run_by_id == alice.id


def test_a_page_that_is_not_a_path_on_this_site_is_not_kept(configured: Service) -> None:
    job_id = api_export.enqueue({"region": "north"}, page="https://elsewhere.example/x")
    assert stored(configured, job_id).run_at is None


def test_run_by_an_unknown_user_is_refused_and_no_job_is_written(configured: Service) -> None:
    with pytest.raises(errors.UserNotFound, match="No user with id 999"):
        api_export.enqueue({"region": "north"}, run_by=999)
    assert count_jobs(configured) == 0


def test_enqueue_without_a_database_or_a_connection_says_how_to_configure_one(service: Service) -> None:
    assert enqueue.configured() is None
    with pytest.raises(errors.ConfigInvalid, match=r"jobdeck.configure\(\)"):
        api_export.enqueue({"region": "north"})


def test_configure_makes_the_settings_database_the_one_enqueue_writes_to(test_settings: Settings) -> None:
    opened = jobdeck.configure(test_settings)
    try:
        job_id = api_export.enqueue({"region": "west"})
        assert stored(opened, job_id).params["region"] == "west"
    finally:
        opened.close()
    assert enqueue.configured() is None


def test_a_key_returns_the_job_already_enqueued_with_it(configured: Service) -> None:
    first = api_export.enqueue({"region": "north"}, key="order-7")
    assert api_export.enqueue({"region": "south"}, key="order-7") == first
    assert count_jobs(configured) == 1


def test_a_unique_type_returns_its_queued_job_until_it_has_run(configured: Service) -> None:
    first = api_unique.enqueue({"region": "north"})
    assert api_unique.enqueue({"region": "north", "rows": 9}) == first
    assert api_unique.enqueue({"region": "south"}) != first
    configured.worker(concurrency=1).run(burst=True)
    assert stored(configured, first).status is model.Status.COMPLETED
    assert api_unique.enqueue({"region": "north"}) != first


def test_eight_threads_enqueueing_one_unique_job_at_once_all_get_the_same_job(configured: Service) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda _: api_unique.enqueue({"region": "north"}), range(8)))
    assert len(set(ids)) == 1 and count_jobs(configured) == 1


def test_the_decorated_function_still_calls_like_the_function() -> None:
    class FakeContext:
        def log(self, message: str) -> None:
            self.logged = message

    ctx: Any = FakeContext()
    assert api_export(ctx, Region(region="north")) == "north"
    assert ctx.logged == "north: 1 rows"
    assert api_export.__name__ == "api_export" and api_export.job_type.name == "t_api_export"


def test_a_function_taking_ctx_and_the_model_gets_both(configured: Service, admin: model.User) -> None:
    job_id = api_export.enqueue({"region": "north", "rows": 5})
    configured.worker(concurrency=1, queues=("reports",)).run(burst=True)
    detail = configured.job_detail(admin, job_id)
    assert detail.job.status is model.Status.COMPLETED
    assert [line.message for line in detail.log] == ["north: 5 rows"]


def test_a_function_taking_only_the_model_gets_it_and_its_type_takes_that_model(configured: Service) -> None:
    assert api_params_only.job_type.params is Region
    done = api_params_only.enqueue({"region": "north"})
    refused = api_params_only.enqueue({"region": "nowhere"})
    configured.worker(concurrency=1).run(burst=True)
    assert stored(configured, done).status is model.Status.COMPLETED
    failed = stored(configured, refused)
    assert (failed.status, failed.error) == (model.Status.FAILED, "No orders in nowhere.")


def test_a_function_of_two_arguments_without_a_model_is_refused_at_registration() -> None:
    with pytest.raises(TypeError, match="declare params=YourModel"):
        Registry().job_type("two")(lambda ctx, params: None)


def test_a_model_in_the_signature_that_is_not_the_declared_one_is_refused_at_registration() -> None:
    def takes_other(params: Other) -> None: ...

    with pytest.raises(TypeError, match="params=Region but its function takes Other"):
        Registry().job_type("mismatch", params=Region)(takes_other)


def test_service_enqueue_many_takes_a_list_of_params_one_per_job(service: Service, alice: model.User) -> None:
    ids = service.enqueue_many(alice, "t_api_export", [{"region": "north"}, {"region": "south"}])
    assert [service.get_job(alice, i).description for i in ids] == ["Export north", "Export south"]


def test_a_delayed_job_waits_until_its_time(configured: Service) -> None:
    job_id = api_params_only.enqueue({"region": "north"}, delay=dt.timedelta(hours=1))
    assert configured.worker(concurrency=1).run(burst=True) == 0
    job = stored(configured, job_id)
    assert job.status is model.Status.QUEUED and job.not_before is not None
    assert job.not_before - job.created_at >= dt.timedelta(minutes=59)


def test_a_job_to_run_at_a_time_already_past_runs_at_once(configured: Service) -> None:
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    ids = api_params_only.enqueue_many([{"region": "north"}, {"region": "south"}], run_at=past)
    configured.worker(concurrency=1).run(burst=True)
    assert [stored(configured, i).status for i in ids] == [model.Status.COMPLETED, model.Status.COMPLETED]
    assert stored(configured, ids[0]).not_before == past


def test_run_at_and_delay_together_are_refused(configured: Service) -> None:
    with pytest.raises(errors.InvalidParams, match="run_at or delay"):
        api_params_only.enqueue({"region": "north"}, run_at=dt.datetime.now(dt.UTC), delay=60)
    assert count_jobs(configured) == 0


def test_a_job_function_can_enqueue_its_follow_up_job(configured: Service, admin: model.User) -> None:
    first = configured.start_job(admin, "t_api_chain")
    configured.worker(concurrency=1).run(burst=True)
    (line,) = configured.job_detail(admin, first.id).log
    follow_up = stored(configured, int(line.message.removeprefix("followed by ")))
    assert (follow_up.type, follow_up.run_by_id) == ("t_api_params_only", admin.id)
    assert follow_up.status is model.Status.COMPLETED
