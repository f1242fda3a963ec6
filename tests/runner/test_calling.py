"""How a job function is called: the rule read from its signature at registration."""

from __future__ import annotations

import functools
from typing import Any

import pydantic
import pytest

from jobdeck.runner.calling import Calling, read


class Region(pydantic.BaseModel):
    region: str


def takes_context(ctx: Any) -> None: ...


def takes_model(params: Region) -> None: ...


def takes_both(ctx: Any, params: Region) -> None: ...


def takes_nothing() -> None: ...


def test_one_argument_that_is_not_a_model_gets_the_context() -> None:
    assert read("t", takes_context, None) == (Calling(context=True, params=False), None)
    assert read("t", lambda ctx: None, None) == (Calling(context=True, params=False), None)


def test_one_argument_annotated_with_a_model_gets_the_params_and_the_model_becomes_the_types() -> None:
    assert read("t", takes_model, None) == (Calling(context=False, params=True), Region)


def test_two_arguments_get_the_context_and_the_params() -> None:
    assert read("t", takes_both, None) == (Calling(context=True, params=True), Region)
    assert read("t", lambda ctx, params: None, Region) == (Calling(context=True, params=True), Region)


def test_no_arguments_get_nothing() -> None:
    assert read("t", takes_nothing, Region) == (Calling(context=False, params=False), Region)


def test_a_wrapper_taking_star_args_or_an_optional_context_gets_the_context() -> None:
    assert read("t", lambda *args: None, None)[0] == Calling(context=True, params=False)
    assert read("t", lambda ctx=None: None, None)[0] == Calling(context=True, params=False)


def test_a_wrapped_function_is_read_through_its_wrapper() -> None:
    @functools.wraps(takes_model)
    def wrapper(*args: Any) -> None: ...

    assert read("t", wrapper, None) == (Calling(context=False, params=True), Region)


def test_three_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="takes \\(ctx\\), \\(params\\) or \\(ctx, params\\)"):
        read("t", lambda a, b, c: None, Region)
