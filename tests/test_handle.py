"""The public ``Runtime`` handle: the engine core with evaluation and MCP features composed in."""

from __future__ import annotations

import inspect

from flowai_harness.engine.core import EngineCore
from flowai_harness.evals.runtime_methods import RuntimeEvals
from flowai_harness.handle import Runtime
from tests.engine.helpers import runtime_of, specialist

EVAL_METHODS = {
    "run_eval": "run",
    "stream_eval": "stream",
    "get_trace": "get_trace",
    "list_traces": "list_traces",
}


def test_the_handle_is_the_engine_core_and_nothing_mixed_in() -> None:
    assert Runtime.__mro__ == (Runtime, EngineCore, object)


def test_the_eval_methods_take_the_arguments_of_the_feature_they_delegate_to() -> None:
    for method, feature in EVAL_METHODS.items():
        on_handle = inspect.signature(getattr(Runtime, method))
        on_feature = inspect.signature(getattr(RuntimeEvals, feature))
        assert list(on_handle.parameters) == list(on_feature.parameters), method
        assert on_handle.return_annotation == on_feature.return_annotation, method


def test_each_runtime_keeps_its_own_eval_traces() -> None:
    first, second = runtime_of(specialist("w")), runtime_of(specialist("w"))
    assert first.list_traces() == [] and second.list_traces() == []
    assert first._eval_runner() is first._eval_runner()
    assert first._eval_runner() is not second._eval_runner()
    assert repr(first) == "Runtime(resource_id='acme', agents=['w'])"
