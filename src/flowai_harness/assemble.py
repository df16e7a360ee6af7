"""``create_runtime``: check the arguments, choose the adapters, and build the engine.

This is the one module that picks concrete adapters (model clients, stores) for the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from flowai_harness.errors import ConfigurationError, MissingDependencyError, SpecTypeError
from flowai_harness.specs._problems import closest
from flowai_harness.specs.runtime import RuntimeSpec, augment_agent_prompts
from flowai_harness.specs.tools import ToolSpec

if TYPE_CHECKING:
    from flowai_harness.engine.cassette import CassetteWriter, NoCassette
    from flowai_harness.engine.observer import RunObserver
    from flowai_harness.handle import Runtime
    from flowai_harness.ports import ModelClient

# The engine, the adapters and asyncio are imported on the first create_runtime call, not
# when this module is imported: `from flowai_harness import create_runtime` stays cheap.

__all__ = ["INTERPRETERS", "create_runtime"]

Interpreter = Literal["noop", "scripted", "anthropic", "openai"]
INTERPRETERS: tuple[str, ...] = ("noop", "scripted", "anthropic", "openai")


def create_runtime(
    spec: RuntimeSpec | Mapping[str, Any],
    *,
    tool_bindings: Iterable[ToolSpec] | None = None,
    services: Mapping[str, Any] | None = None,
    approval_predicates: Mapping[str, Callable[[Any, dict[str, Any]], bool]] | None = None,
    action_dispatcher: Callable[..., Any] | None = None,
    event_hooks: Iterable[Callable[[dict[str, Any]], Any]] | None = None,
    data_environment: Mapping[str, Any] | None = None,
    target_database_url: str | None = None,
    testing: Mapping[str, Any] | None = None,
    interpreter: Interpreter | ModelClient = "noop",
    limits: Mapping[str, Any] | None = None,
    budget: Mapping[str, Any] | None = None,
    record: str | Path | None = None,
    tracer_provider: Any = None,
    telemetry: bool | Mapping[str, Any] = False,
    durability: Mapping[str, Any] | None = None,
    run_traces: int | bool = True,
) -> Runtime:
    """Build a live :class:`Runtime` from a runtime spec and the host's callbacks.

    Args:
        spec: a ``RuntimeSpec`` (or its mapping form).
        tool_bindings: extra tools with handlers, beyond those bound to agents.
        services: host objects handed to Python tool handlers as ``ctx.<name>``.
        approval_predicates: dynamic approval predicates by id, ``(args, ctx) -> bool``.
        action_dispatcher: ``(actions, ctx)`` callback that applies approved plan actions.
        event_hooks: callables called with every event dict before it is yielded.
        data_environment: storage and data backends (see ``DataEnvironmentConfig``).
        target_database_url: shorthand for ``data_environment.target_database_url``.
        testing: ``TestingConfig(mock_response=...)`` for the deterministic mock interpreter.
        interpreter: ``"noop"`` (default), ``"scripted"``, ``"anthropic"`` or ``"openai"``;
            or any ``ModelClient`` object (for example ``flowai_harness.testing.ScriptedModel``),
            which then serves every agent.
        limits: size limits on tool results and arguments, e.g. ``{"tool_result_bytes":
            262144, "tool_result_bytes_per_tool": {"export": 8388608}}`` (see
            ``flowai_harness.engine.limits`` for every key and its default).
        budget: the default limits of every run, e.g. ``{"max_cost_usd": 0.5, "max_tokens":
            20000, "max_tool_calls": 30, "max_duration_secs": 120}`` (snake_case or camelCase
            keys, any subset); ``query`` and ``run_specialist`` may override it per call. A
            run that reaches a limit stops with an ``error`` event of code
            ``budget_exceeded``.
        record: the path of a cassette file (JSON lines, replaced if it exists) to which
            every run and every model turn is written, whatever the interpreter; play it
            back offline with ``flowai_harness.testing.ReplayModel.from_file(path)``.
        tracer_provider: an OpenTelemetry ``TracerProvider``: every run is traced as spans
            following the GenAI semantic conventions (needs the ``otel`` extra).
        telemetry: ``True`` traces with ``tracer_provider`` or, when it is unset, the global
            tracer provider; ``{"capture_content": True}`` also records prompts, messages and
            tool arguments and results on the spans. Without either, OpenTelemetry is not
            imported and tracing costs nothing.
        durability: how the runs of a durable store (SQLite, Postgres, Redis) are shared with
            the other workers of that store, e.g. ``{"lease_secs": 30, "recover": True,
            "thread_policy": "enqueue"}`` (any subset): how long a run's lease lasts without
            renewal, whether a background sweeper resumes runs whose worker died (default: on
            with a durable store), and whether a query on a busy thread waits (``enqueue``) or
            fails at once (``reject``). See ``docs/deployment.md``.
        run_traces: how many runs' trace trees this process keeps for
            ``Runtime.get_trace(run_id)`` (``True``: the last 1,000; ``False`` or ``0``: none,
            which saves about a microsecond per model and tool call). See
            ``docs/telemetry.md``.

    Returns:
        The runtime handle.

    Raises:
        ValueError: any argument or spec check fails (the message names what is wrong).
        TypeError: an argument has the wrong type.
    """
    from flowai_harness.data.factory import catalog_tool_handlers
    from flowai_harness.engine.budget import parse_budget
    from flowai_harness.engine.builtins import engine_tool_handlers
    from flowai_harness.engine.compiled import EngineInputs, compile_runtime
    from flowai_harness.engine.limits import parse_limits
    from flowai_harness.handle import Runtime
    from flowai_harness.specs.data_environment import normalize_data_environment
    from flowai_harness.specs.durability import parse_durability
    from flowai_harness.storage.factory import open_key_value_store

    # A wire dict (a file, Studio) becomes a RuntimeSpec here, once: the engine reads only
    # the typed spec.
    if not isinstance(spec, RuntimeSpec):
        spec = RuntimeSpec.model_validate(spec)
    spec = augment_agent_prompts(spec)
    resource_id = spec.tenant.resource_id
    env = normalize_data_environment(
        data_environment, target_database_url, runtime_resource_id=resource_id
    )
    checked_services = _check_services(services)
    client, mock_response = _check_interpreter(interpreter, testing)
    tools = _collect_tools(spec, tool_bindings)
    predicates = _collect_predicates(tools, approval_predicates)
    hooks = _check_callables(event_hooks, "event_hooks")
    run_budget = parse_budget(budget)
    durability_options = parse_durability(durability)
    observer = _with_run_traces(_build_observer(tracer_provider, telemetry), run_traces)
    if action_dispatcher is not None and not callable(action_dispatcher):
        raise SpecTypeError("action_dispatcher must be callable (actions, ctx) -> result")
    clients, cassette = _model_clients(spec, interpreter, client, mock_response, record)
    inputs = EngineInputs(
        spec=spec,
        clients=clients,
        kv=open_key_value_store(env),
        builtin_handlers={
            **engine_tool_handlers(),
            **catalog_tool_handlers(env, resource_id, verify_target=True),
        },
        tools=tools,
        predicates=predicates,
        action_dispatcher=action_dispatcher,
        event_hooks=hooks,
        services=checked_services,
        data_environment=env,
        limits=parse_limits(limits),
        budget=run_budget,
        cassette=cassette,
        observer=observer,
    )
    return Runtime(compile_runtime(inputs), durability=durability_options)


def _model_clients(
    spec: RuntimeSpec,
    interpreter: Interpreter | ModelClient,
    client: ModelClient | None,
    mock_response: str | None,
    record: str | Path | None,
) -> tuple[dict[str, ModelClient], CassetteWriter | NoCassette]:
    """The model client per provider key (``"*"``: every one), recording into the cassette at
    ``record`` when one is asked for."""
    from flowai_harness.engine.cassette import NO_CASSETTE, RecordingClient, open_cassette
    from flowai_harness.providers.factory import build_model_clients

    clients = (
        {"*": client}
        if client is not None
        else build_model_clients(spec, str(interpreter), mock_response)
    )
    if record is None:
        return clients, NO_CASSETTE
    writer = open_cassette(record)
    # every client records into the one cassette, whichever agent it serves
    return {name: RecordingClient(inner, writer) for name, inner in clients.items()}, writer


def _with_run_traces(observer: RunObserver, run_traces: int | bool) -> RunObserver:
    """The observer, inside the run-trace collector unless ``run_traces`` turns it off."""
    from flowai_harness.engine.trace_collector import DEFAULT_RUN_TRACE_CAPACITY, TraceCollector

    if isinstance(run_traces, bool):
        capacity = DEFAULT_RUN_TRACE_CAPACITY if run_traces else 0
    elif isinstance(run_traces, int):
        capacity = run_traces
    else:
        raise SpecTypeError(
            f"run_traces must be a boolean or a number of runs; got {type(run_traces).__name__}"
        )
    if capacity < 0:
        raise ConfigurationError(
            f"run_traces must be >= 0 (the number of runs kept; 0 keeps none); got {capacity}"
        )
    return TraceCollector(observer, capacity) if capacity else observer


def _build_observer(tracer_provider: Any, telemetry: bool | Mapping[str, Any]) -> RunObserver:
    """The engine's observer: OpenTelemetry spans when configured, else the null one."""
    from flowai_harness.engine.observer import NULL_OBSERVER

    capture = False
    if isinstance(telemetry, Mapping):
        unknown = sorted(set(telemetry) - {"capture_content", "captureContent"})
        if unknown:
            raise ConfigurationError(
                f"telemetry has unknown key(s) {unknown}; the only key is 'capture_content'"
            )
        capture = telemetry.get("capture_content", telemetry.get("captureContent", False))
        if not isinstance(capture, bool):
            raise SpecTypeError(
                f"telemetry.capture_content must be a boolean; got {type(capture).__name__}"
            )
        enabled = True
    elif isinstance(telemetry, bool):
        enabled = telemetry
    else:
        raise SpecTypeError(
            f"telemetry must be a boolean or a mapping such as {{'capture_content': True}}; "
            f"got {type(telemetry).__name__}"
        )
    if tracer_provider is None and not enabled:
        return NULL_OBSERVER
    if tracer_provider is not None and not callable(getattr(tracer_provider, "get_tracer", None)):
        raise SpecTypeError(
            f"tracer_provider must be an OpenTelemetry TracerProvider (with get_tracer); got "
            f"{type(tracer_provider).__name__}"
        )
    try:
        from flowai_harness.engine.telemetry import TelemetryObserver
    except ImportError as exc:
        raise MissingDependencyError(
            "tracing needs OpenTelemetry: pip install 'flowai-harness[otel]'"
        ) from exc
    return TelemetryObserver(tracer_provider, capture_content=capture)


def _check_interpreter(
    interpreter: Interpreter | ModelClient, testing: Mapping[str, Any] | None
) -> tuple[ModelClient | None, str | None]:
    """Return the ``ModelClient`` object given as interpreter (``None`` for a name) and the
    mock response of ``testing``."""
    if interpreter is None or isinstance(interpreter, str):
        return None, _check_testing(testing, str(interpreter))
    if not callable(getattr(interpreter, "stream_turn", None)):
        raise SpecTypeError(
            f"interpreter must be one of {', '.join(INTERPRETERS)} or a ModelClient object with "
            f"a stream_turn method; got {type(interpreter).__name__}"
        )
    if testing is not None:
        raise ConfigurationError(
            "create_runtime accepts either testing or a non-default interpreter, not both "
            "(got testing and a ModelClient interpreter)"
        )
    return interpreter, None


def _check_services(services: Mapping[str, Any] | None) -> dict[str, Any]:
    from flowai_harness.engine.context import RESERVED_CONTEXT_KEYS

    if services is None:
        return {}
    if not isinstance(services, Mapping):
        raise SpecTypeError(
            f"services must be a mapping of service name to object; got {type(services).__name__}"
        )
    for key in services:
        if not isinstance(key, str) or not key:
            raise SpecTypeError(f"service names must be non-empty strings; got {key!r}")
        if key in RESERVED_CONTEXT_KEYS:
            raise ConfigurationError(
                f"service name '{key}' is reserved by the runtime "
                f"(reserved: {', '.join(sorted(RESERVED_CONTEXT_KEYS))})"
            )
    return dict(services)


def _check_testing(testing: Mapping[str, Any] | None, interpreter: str) -> str | None:
    if interpreter not in INTERPRETERS:
        match = closest(str(interpreter), INTERPRETERS)
        raise ConfigurationError(
            f"unknown interpreter {interpreter!r}; expected one of: {', '.join(INTERPRETERS)}"
            + (f"; did you mean {match!r}?" if match else "")
        )
    if testing is None:
        return None
    if interpreter != "noop":
        raise ConfigurationError(
            "create_runtime accepts either testing or a non-default interpreter, not both "
            f"(got testing and interpreter={interpreter!r})"
        )
    if not isinstance(testing, Mapping):
        raise SpecTypeError(
            f"testing must be a TestingConfig mapping; got {type(testing).__name__}"
        )
    unknown = sorted(set(testing) - {"mock_response"})
    if unknown:
        raise ConfigurationError(
            f"TestingConfig has unknown key(s) {unknown}; the only key is 'mock_response'"
        )
    if "mock_response" not in testing:
        raise ConfigurationError("TestingConfig requires the key 'mock_response'")
    response = testing["mock_response"]
    if not isinstance(response, str):
        raise SpecTypeError(
            f"TestingConfig.mock_response must be a string; got {type(response).__name__}"
        )
    return response


def _collect_tools(spec: RuntimeSpec, extra: Iterable[ToolSpec] | None) -> dict[str, ToolSpec]:
    tools: dict[str, ToolSpec] = {}
    for tool in [
        *(extra or ()),
        *spec.tool_bindings,
        *(t for agent in spec.agents for t in agent.tools),
    ]:
        if not isinstance(tool, ToolSpec):
            raise SpecTypeError(
                f"tool_bindings must contain ToolSpec values; got {type(tool).__name__}"
            )
        current = tools.get(tool.binding_key)
        if current is None or (current.handler is None and tool.handler is not None):
            tools[tool.binding_key] = tool
    return tools


def _collect_predicates(
    tools: Mapping[str, ToolSpec],
    given: Mapping[str, Callable[..., Any]] | None,
) -> dict[str, Callable[..., Any]]:
    predicates: dict[str, Callable[..., Any]] = {}
    for key, fn in (given or {}).items():
        if not isinstance(key, str) or not key:
            raise SpecTypeError(f"approval_predicates keys must be non-empty strings; got {key!r}")
        if not callable(fn):
            raise SpecTypeError(f"approval predicate '{key}' must be callable")
        predicates[key] = fn
    # A callable ``approval=`` of a tool registers under its dynamic rule's id; whether every
    # dynamic rule has a predicate is checked when the runtime is compiled.
    for tool in tools.values():
        if tool.approval_handler is not None and tool.approval.get("kind") == "dynamic":
            predicates.setdefault(tool.approval["value"], tool.approval_handler)
    return predicates


def _check_callables(values: Iterable[Any] | None, name: str) -> list[Callable[..., Any]]:
    out = list(values or ())
    for value in out:
        if not callable(value):
            raise SpecTypeError(f"{name} must contain callables; got {type(value).__name__}")
    return out
