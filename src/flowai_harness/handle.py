"""The public ``Runtime`` handle: the engine core, plus evaluations and MCP serving.

The engine (L2) owns runs, approvals and references. Evaluation and MCP serving live one layer
up, and hang off the handle by composition: its eval methods delegate to a
:class:`~flowai_harness.evals.runtime_methods.RuntimeEvals` it owns (which keeps the traces
its samples record), its MCP methods to the functions of
:mod:`flowai_harness._mcp_serving.runtime_methods`, each given the runtime. Both load on first
use.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flowai_harness._mcp_serving.serve_options import (
    DEFAULT_CALL_TIMEOUT_SECS,
    DEFAULT_HOST,
    DEFAULT_PATH,
    DEFAULT_PORT,
    HTTP_TRANSPORT,
)
from flowai_harness.engine.core import EngineCore
from flowai_harness.engine.follow import follow_events
from flowai_harness.engine.plan_store import read_plan, settle
from flowai_harness.engine.resumes import require_str, run_id_arg
from flowai_harness.errors import SpecTypeError, SpecValueError

if TYPE_CHECKING:
    from flowai_harness.evals.runner import EvalEventStream
    from flowai_harness.evals.runtime_methods import RuntimeEvals

__all__ = ["Runtime"]


class Runtime(EngineCore):
    """A live runtime built by ``create_runtime``; share one per application.

    Requests on different threads run concurrently; requests on the same ``thread_id`` are
    serialized, so no turn of conversation memory is lost.
    """

    _evals: RuntimeEvals | None = None

    def _eval_runner(self) -> RuntimeEvals:
        evals = self._evals
        if evals is None:
            from flowai_harness.evals.runtime_methods import RuntimeEvals

            evals = self._evals = RuntimeEvals(self)
        return evals

    # ------------------------------------------------------------------ the fleet

    async def recover_runs(self) -> list[str]:
        """Claim the durable runs whose worker died, and resume each here in the background.

        A run is claimed when its lease expired (its worker stopped renewing it), or when it
        waits at a gate whose approval was answered more than a lease ago with nobody taking
        it back. Claiming bumps the lease's fencing epoch, so of workers recovering at once
        exactly one gets each run, and the worker presumed dead can no longer write to it. A
        recovered run goes on as ``resume_run`` would, with no consumer: follow it with
        ``run_events`` / ``get_run``. Runs whose stream was dropped are left for an explicit
        ``resume_run``. With recovery on (``durability={"recover": True}``, the default with a
        durable store) a background sweeper calls this every half lease.

        Returns:
            The ids of the runs claimed by this call (empty without a durable store).
        """
        return await self._recover_runs()

    def follow_run(self, run_id: str, after_sequence: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Follow a durable run from any process sharing its store, until it ends.

        Yields the run's committed events numbered above ``after_sequence`` (event dicts, as
        ``run_events`` returns them), then each new one as soon as the checkpoint holding it
        commits (the store signals it: Postgres ``LISTEN``, Redis pub/sub, SQLite a ~50 ms
        poll), and stops once the run has a final status. A follower that drops and follows
        again from the last sequence it saw gets exactly the events it missed, with the same
        content.

        Example:
            >>> async for event in runtime.follow_run(run_id, after_sequence=12):  # doctest: +SKIP
            ...     print(event["sequence"], event["type"])

        Raises:
            SpecTypeError: ``run_id`` is not a string or ``after_sequence`` not an integer.
            SpecValueError: ``after_sequence`` is negative, the runtime has no durable store
                (in-memory runs keep no log to follow), or the run is unknown (raised on the
                first iteration).
        """
        run_id = run_id_arg(run_id)
        if isinstance(after_sequence, bool) or not isinstance(after_sequence, int):
            raise SpecTypeError(
                f"after_sequence must be an integer; got {type(after_sequence).__name__}"
            )
        if after_sequence < 0:
            raise SpecValueError(f"after_sequence must be 0 or more; got {after_sequence}")
        if not self.durable_runs:
            raise SpecValueError(
                "follow_run needs a durable store (data_environment.kv of kind sqlite, postgres "
                "or redis): in-memory runs keep no event log"
            )
        kv, tenant = self._compiled.kv, self._compiled.resource_id
        return follow_events(kv, tenant, run_id, after_sequence)

    async def prune(self, older_than: timedelta | float | None = None) -> int:
        """Delete the runs that ended more than ``older_than`` ago; return how many.

        A pruned run's record, event log and journal go (``get_run`` then returns ``None``);
        runs still going or waiting at a gate stay whatever their age, and so do approval
        audit records. Without a durable store the in-process records are pruned the same way.
        Call it from a scheduled job (or a timer of your application): nothing prunes by
        itself.

        Args:
            older_than: The age (a ``timedelta``, or seconds) a run must have ended before;
                ``None`` takes ``durability={"retention_days": ...}``.

        Raises:
            SpecTypeError: ``older_than`` is not a ``timedelta``, a number or ``None``.
            SpecValueError: ``older_than`` is negative, or ``None`` without
                ``retention_days``.
        """
        if older_than is None:
            days = self._durability.retention_days
            if days is None:
                raise SpecValueError(
                    "prune needs older_than (a timedelta or seconds), or "
                    "durability={'retention_days': ...} on the runtime"
                )
            seconds = days * 86_400.0
        elif isinstance(older_than, timedelta):
            seconds = older_than.total_seconds()
        elif isinstance(older_than, int | float) and not isinstance(older_than, bool):
            seconds = float(older_than)
        else:
            raise SpecTypeError(
                f"older_than must be a timedelta, seconds or None; got {type(older_than).__name__}"
            )
        if not seconds >= 0:
            raise SpecValueError(f"older_than must be 0 or more; got {older_than!r}")
        return await self._runs.prune(time.time() - seconds)

    async def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        """Return the stored plan ``plan_id`` of this tenant, or ``None`` when unknown.

        Its ``status`` is ``draft``, ``approved``, ``executing``, ``executed``, ``failed``, or
        ``needs_reconciliation``: the worker dispatching it stopped before recording the
        outcome (see :meth:`settle_plan`).

        Raises:
            SpecTypeError: ``plan_id`` is not a string.
        """
        require_str("plan_id", plan_id)
        return await read_plan(self._compiled.kv, self.resource_id, plan_id)

    async def settle_plan(
        self, plan_id: str, outcome: str, note: str | None = None
    ) -> dict[str, Any]:
        """Record what became of a plan whose dispatch was interrupted.

        After checking the downstream system (the dispatcher's ``idempotency_key`` names the
        attempt), say whether the actions took effect: ``"executed"`` or ``"failed"``. The move
        from ``needs_reconciliation`` is a compare-and-set, so of two hosts settling one plan
        at once exactly one succeeds.

        Args:
            plan_id: The plan.
            outcome: ``"executed"`` or ``"failed"``.
            note: Kept in the plan's ``outcome`` (for ``failed``, as its message).

        Returns:
            The settled plan.

        Raises:
            SpecTypeError: ``plan_id`` is not a string.
            PlanStateError: (a ``ValueError``) a bad ``outcome`` or ``note``, an unknown plan,
                or a plan that is not (or no longer) ``needs_reconciliation``.
        """
        require_str("plan_id", plan_id)
        return await settle(self._compiled.kv, self.resource_id, plan_id, outcome, note)

    # ------------------------------------------------------------------ evaluations

    def run_eval(self, eval_request: Any) -> Awaitable[dict[str, Any]]:
        """Run an eval to completion and return its artifact.

        The request is parsed and checked when this method is called; the returned awaitable
        runs the samples.

        Args:
            eval_request: An ``EvalRequest``; a JSON string; an object with ``model_dump``
                (dumped ``by_alias``); or a mapping in camelCase wire form.

        Returns:
            An awaitable of the camelCase artifact dict (``EvalArtifact`` wire form).

        Raises:
            ValueError: the request cannot be parsed, names another tenant, uses an
                offline-only mode or preset, has weights that do not resolve, or the mode's
                entry agent is missing (raised at call time). A judge scorer on an offline
                interpreter does not raise: its verdict fails closed
                (``judge_provider_unavailable``).
            RunError: the eval failed or was cancelled (a ``RuntimeError``; when awaited).
        """
        return self._eval_runner().run(eval_request)

    def stream_eval(self, eval_request: Any) -> EvalEventStream:
        """Start an eval and stream its progress.

        Args:
            eval_request: As for :meth:`run_eval`.

        Returns:
            An async iterator of envelope dicts ``{"runId", "sequence", "type", "data"}``
            (``sequence`` from 0): ``evalStarted``, ``testCaseStarted``, ``sampleCompleted``,
            ``testCaseCompleted``, then ``evalCompleted`` (or one ``evalFailed`` /
            ``evalCancelled``). Closing or dropping it stops scheduling samples.

        Raises:
            ValueError: as for :meth:`run_eval`, at call time.
        """
        return self._eval_runner().stream(eval_request)

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """Return the trace of an eval sample or of a run, or ``None`` for an unknown id.

        Args:
            trace_id: A sample's ``trace.traceId``, or the ``run_id`` of a ``query`` /
                ``run_specialist`` run this process ran (its stream's ``run_id``).

        Returns:
            ``None``, or for an eval sample: ``{"traceId", "tenantId", "workspaceId",
            "status", "stage", "scope", "provenance", "input", "responseText", "steps",
            "error", "startedAt", "completedAt", "durationMs"}``. ``scope`` holds the
            sample's ids ``{"evalRunId", "testCaseId", "threadId", "sampleIndex"}``;
            ``provenance`` is ``{"kind": "eval_sample", "evalRunId", "testCaseId",
            "sampleIndex", "mode", "entryAgent"}``; each step is ``{"ordinal", "toolName",
            "toolCallId", "agent", "depth", "arguments", "result", "error"}`` with
            ``{"kind": "inline", "value"}`` (or ``{"kind": "omitted", "reason"}``) payloads.

            For a run: ``{"traceId" (the run id), "kind": "run", "runId", "threadId",
            "operation", "entryAgent", "entryInvocationId", "status", "error", "startedAt",
            "completedAt", "durationMs", "usage", "costUsd", "scope", "root"}``, where
            ``root`` is the tree run -> agent -> turn -> tool (-> agent, approval,
            planDispatch); each node has ``type``, ``name``, ``startedAt``,
            ``startOffsetMs``, ``durationMs``, ``status``, ``error``, ``children`` and the
            fields of its type (docs/telemetry.md lists them). The runtime keeps the last
            1,000 runs' traces in memory.

        Raises:
            SpecTypeError: ``trace_id`` is not a string.
        """
        return self._eval_runner().get_trace(trace_id)

    def list_traces(
        self,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
        *,
        kind: str = "eval",
    ) -> list[dict[str, Any]]:
        """Return the recorded traces matching every given filter, oldest first.

        Args:
            eval_run_id: Keep traces of this eval run (``runId``).
            test_case_id: Keep traces of this test case.
            thread_id: Keep the traces of this thread (a sample's, or a run's).
            kind: ``"eval"`` (eval sample traces, the default) or ``"run"`` (the traces of
                ``query`` / ``run_specialist`` runs, filtered by ``thread_id`` only).

        Returns:
            The trace dicts (see :meth:`get_trace`).

        Raises:
            SpecTypeError: a filter is neither a string nor ``None``.
            SpecValueError: another ``kind``, or an eval filter with ``kind="run"``.
        """
        return self._eval_runner().list_traces(eval_run_id, test_case_id, thread_id, kind=kind)

    # ------------------------------------------------------------------ MCP serving

    def list_mcp_tools(
        self, agent: str, *, expose_agent_tools: bool = False
    ) -> list[dict[str, Any]]:
        """Return the MCP descriptors of ``agent``'s tools, exactly as MCP clients see them.

        Args:
            agent: The agent whose tools are listed.
            expose_agent_tools: Reserved; ``False`` leaves ``call_agent`` out, ``True`` is
                refused for an agent that has it.

        Returns:
            ``[{"name", "description", "inputSchema"}, ...]`` in the agent's tool order.

        Raises:
            ValueError: unknown agent ("agent 'x' not found in runtime"), routing tools with
                ``expose_agent_tools=True``, or a tool whose input schema is not an object.
        """
        from flowai_harness._mcp_serving.runtime_methods import list_mcp_tools

        return list_mcp_tools(self, agent, expose_agent_tools=expose_agent_tools)

    async def serve_mcp_stdio(
        self,
        agent: str,
        *,
        thread_id: str | None = None,
        call_timeout_secs: float = DEFAULT_CALL_TIMEOUT_SECS,
        expose_agent_tools: bool = False,
    ) -> None:
        """Serve ``agent``'s tools over MCP on stdin/stdout until the client disconnects.

        Args:
            agent: The agent whose tools are served.
            thread_id: The thread every call runs on (``mcp-<uuid4>`` when ``None``).
            call_timeout_secs: Per-call time limit (positive, finite); a call running longer
                fails with an MCP internal error naming the tool.
            expose_agent_tools: See :meth:`list_mcp_tools`.

        Raises:
            ValueError: as :meth:`list_mcp_tools`, or a non-positive / non-finite timeout.
            MissingDependencyError: the ``mcp`` extra is not installed.
            RuntimeError: the stdio transport failed.
        """
        from flowai_harness._mcp_serving.runtime_methods import serve_mcp_stdio

        await serve_mcp_stdio(
            self,
            agent,
            thread_id=thread_id,
            call_timeout_secs=call_timeout_secs,
            expose_agent_tools=expose_agent_tools,
        )

    async def serve_mcp_http(
        self,
        agent: str,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        path: str = DEFAULT_PATH,
        transport: str = HTTP_TRANSPORT,
        thread_id: str | None = None,
        call_timeout_secs: float = DEFAULT_CALL_TIMEOUT_SECS,
        expose_agent_tools: bool = False,
        allowed_origins: Iterable[str] | None = None,
        require_origin: bool = True,
        bearer_token: str | None = None,
        allowed_hosts: Iterable[str] | None = None,
    ) -> None:
        """Serve ``agent``'s tools over MCP Streamable HTTP until stopped.

        The server is stateless and answers with JSON. It prints ``... listening on <url>``
        to stderr once bound (port ``0`` picks a free port; the URL shows the real one).

        Args:
            agent: The agent whose tools are served.
            host: Bind address.
            port: TCP port (``0`` = any free port).
            path: Endpoint path, starting with ``/``.
            transport: Only ``"streamable-http"``.
            thread_id: The thread every call runs on (``mcp-<uuid4>`` when ``None``).
            call_timeout_secs: Per-call time limit (positive, finite).
            expose_agent_tools: See :meth:`list_mcp_tools`.
            allowed_origins: Browser origins allowed when the ``Origin`` check is on (exact
                values such as ``http://localhost:3000``, or ``http://localhost:*``). Requests
                without an ``Origin`` header (non-browser clients) are always accepted.
            require_origin: Check ``Origin`` (DNS-rebinding protection); ``False`` turns the
                check off. The ``Host`` header is always checked.
            bearer_token: When set, every request needs ``Authorization: Bearer <token>``
                (the CLI reads it from ``--token`` or ``FLOWAI_MCP_TOKEN``). Required when
                ``host`` is reachable from the network (not a loopback address).
            allowed_hosts: ``Host`` header names accepted besides the bind address (the
                ``Host`` header is always checked; loopback names only count on a loopback
                or wildcard bind, for connections arriving on loopback). On a wildcard bind
                without them, any name is accepted and the token is the guard.

        Raises:
            ValueError: another transport, a bad bind address, path, port, origin, host or
                timeout, a network bind without ``bearer_token`` (``ConfigurationError``), or
                an agent problem as in :meth:`list_mcp_tools`.
            MissingDependencyError: the ``mcp`` extra is not installed.
            RuntimeError: the address cannot be bound (the message names host:port/path) or
                the server failed.
        """
        from flowai_harness._mcp_serving.runtime_methods import serve_mcp_http

        await serve_mcp_http(
            self,
            agent,
            host=host,
            port=port,
            path=path,
            transport=transport,
            thread_id=thread_id,
            call_timeout_secs=call_timeout_secs,
            expose_agent_tools=expose_agent_tools,
            allowed_origins=allowed_origins,
            require_origin=require_origin,
            bearer_token=bearer_token,
            allowed_hosts=allowed_hosts,
        )
