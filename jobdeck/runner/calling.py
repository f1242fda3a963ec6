"""How a job function is called: what it takes is read from its signature once, when its type is registered,
and a coroutine it returns runs on an event loop of its own.

The rule, on the parameters without a default value:

- none: `f()` (but `f(*args)` and `f(ctx=None)` get the context);
- one, annotated with a pydantic model: `f(params)`, the validated params as that model;
- one, anything else: `f(ctx)`, the JobContext (every job function written before this rule);
- two: `f(ctx, params)`.

A model in the signature becomes the type's `params` model when `params=` was not given; when both are given
they must be the same class.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pydantic

from jobdeck import errors

if TYPE_CHECKING:
    from jobdeck.runner.context import JobContext
    from jobdeck.runner.registry import JobType

#: How often a running coroutine's job is checked for a cancel request or its time limit.
CANCEL_POLL_S = 0.05
_REQUIRED = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclasses.dataclass(frozen=True)
class Calling:
    """What a job function is given, in this order: the context, then the params model."""

    context: bool = True
    params: bool = False


Model = type[pydantic.BaseModel]


def read(name: str, func: Callable[..., Any], declared: Model | None) -> tuple[Calling, Model | None]:
    """How `func` wants to be called, and the type's params model (declared, or taken from the signature).
    A signature the rule cannot serve is refused here, when the module registering it is imported."""
    try:
        signature = inspect.signature(func, eval_str=True)
    except NameError:  # an annotation only a type checker can resolve (TYPE_CHECKING imports)
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # no signature (a builtin, some callables): the context, as always
        return Calling(), declared
    parameters = list(signature.parameters.values())
    required = [p for p in parameters if p.kind in _REQUIRED and p.default is inspect.Parameter.empty]
    if not required:
        # f(*args) (a wrapper of a job function) or f(ctx=None) take the context, as every job function did
        positional = any(p.kind in (*_REQUIRED, inspect.Parameter.VAR_POSITIONAL) for p in parameters)
        return Calling(context=positional), declared
    if len(required) > 2:
        raise TypeError(f"job type {name!r}: a job function takes (ctx), (params) or (ctx, params), not {signature}")
    annotated = _model_in(required[-1].annotation, declared)
    model = _agreed(name, declared, annotated)
    if len(required) == 1:
        return (Calling(context=False, params=True), model) if annotated else (Calling(), declared)
    if model is None:
        raise TypeError(
            f"job type {name!r}: its function takes (ctx, params), so declare params=YourModel "
            "or annotate the second argument with a pydantic model"
        )
    return Calling(context=True, params=True), model


def _model_in(annotation: Any, declared: Model | None) -> Model | None:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    if (
        isinstance(annotation, str)
        and declared is not None
        and annotation in (declared.__name__, declared.__qualname__)
    ):
        return declared  # an annotation that could not be resolved, naming the declared model
    return None


def _agreed(name: str, declared: Model | None, annotated: Model | None) -> Model | None:
    if declared is not None and annotated is not None and declared is not annotated:
        raise TypeError(
            f"job type {name!r}: params={declared.__name__} but its function takes {annotated.__name__}; "
            "give the same model to both, or only to one"
        )
    return declared or annotated


def call(job_type: JobType, ctx: JobContext) -> None:
    """Run the job's function for this context, as its signature asks; wait for a coroutine it returns."""
    args: list[Any] = []
    if job_type.takes.context:
        args.append(ctx)
    if job_type.takes.params and job_type.params is not None:
        # The params were validated at enqueue time; validating again names the field that a changed model
        # no longer accepts (InvalidParams fails the job with that message).
        args.append(job_type.params.model_validate(job_type.validate_params(ctx.params)))
    result = job_type.func(*args)
    if inspect.isawaitable(result):
        run_awaitable(result, ctx)


def run_awaitable(awaitable: Awaitable[Any], ctx: JobContext) -> Any:
    """Run a coroutine job on a new event loop, closed when it ends.

    One loop per job rather than one per worker thread: tasks a job leaves behind are cancelled with its
    loop instead of running on inside the next job, and a thread abandoned at its time limit keeps only its
    own loop. The price, about a millisecond per job on a loaded 2-core machine (a reused loop: 0.1 ms), is small
    next to the claim and finish transactions of every run."""
    with asyncio.Runner() as runner:
        return runner.run(_watched(awaitable, ctx))


async def _watched(awaitable: Awaitable[Any], ctx: JobContext) -> Any:
    """Await the job while watching its context: a cancel request, its time limit or a lost lease cancels the
    coroutine (at its next await), and the run then ends as a thread job's would at raise_if_cancelled()."""
    task = asyncio.ensure_future(awaitable)
    stopped = False
    while not stopped:
        done, _ = await asyncio.wait({task}, timeout=CANCEL_POLL_S)
        if done:
            break
        if ctx.cancelled():
            task.cancel()
            await asyncio.wait({task})
            stopped = True
    try:
        result = task.result()
    except asyncio.CancelledError:
        # CancelledError is not an Exception: it must not leave the run as if the worker were stopping.
        ctx.raise_if_cancelled()
        raise errors.JobFailed("The job's coroutine was cancelled from inside the job.") from None
    if stopped:  # it caught the cancellation and returned: it was still stopped on request
        ctx.raise_if_cancelled()
    return result
