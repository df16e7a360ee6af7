"""Driving one chat run: runtime events in, recorded and streamed Studio events out.

A :class:`ChatRun` iterates the runtime stream of ``query`` / ``run_specialist``, maps each
event (:mod:`flowai_harness.studio.events_map`), numbers and records what the mapper keeps,
captures approval requests, and publishes the events meant for the browser to the live run's
subscribers. It always ends with exactly one terminal event (``run.completed``,
``run.failed`` or ``run.cancelled``) and stores one assistant message for the run, partial
answer included when the run was cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from flowai_harness.studio.api_errors import scrub_secrets
from flowai_harness.studio.events_map import (
    AssistantTranscript,
    ChatEventMapper,
    StudioEvent,
    envelope,
)
from flowai_harness.studio.live_runs import Frame, LiveRun
from flowai_harness.studio.workspace_store import WorkspaceStore

__all__ = ["ChatRun", "RuntimeStream"]

logger = logging.getLogger("flowai_harness.studio")


class RuntimeStream(Protocol):
    """What a chat run needs of a runtime event stream: an async iterator of event dicts.

    A ``cancel()`` method, when the stream has one, is called to stop the runtime; a plain
    async generator has none, and a cancelled run then stops reading it.
    """

    def __aiter__(self) -> Any: ...


class ChatRun:
    """One chat run's driver; pass :meth:`drive` to ``RunRegistry.start``.

    Args:
        store: The rows of the run's workspace.
        stream: The runtime event stream (started lazily by the first read).
        agent_id: The agent the user chats with.
        thread_id: The chat thread.
        run_id: The Studio run id.
    """

    def __init__(
        self,
        *,
        store: WorkspaceStore,
        stream: RuntimeStream,
        agent_id: str,
        thread_id: str,
        run_id: str,
    ) -> None:
        self.store = store
        self.stream = stream
        self.agent_id = agent_id
        self.thread_id = thread_id
        self.run_id = run_id
        self.mapper = ChatEventMapper(agent_id, thread_id)
        self.transcript = AssistantTranscript()
        self.seq = 0
        self.status: str | None = None
        self._answer_stored = False

    async def _record(self, live: LiveRun, event: StudioEvent) -> None:
        self.seq += 1
        wire = envelope(
            event,
            seq=self.seq,
            workspace_key=self.store.workspace_key,
            run_id=self.run_id,
            thread_id=self.thread_id,
            agent_id=self.agent_id,
        )
        if event.terminal:
            # The answer (and, for a run that did not complete, the expiry of its approvals) is
            # stored before the terminal event, so whoever sees the run ended sees all of it.
            self.transcript.add(event)
            self.status = event.kind.removeprefix("run.")
            await self._store_answer()
        await self.store.append_run_event(
            thread_id=self.thread_id,
            run_id=self.run_id,
            seq=self.seq,
            kind=event.kind,
            event=wire,
            raw_event=event.raw,
            operation="chat",
            agent_id=self.agent_id,
            sent=event.send,
        )
        if not event.terminal:
            self.transcript.add(event)
        await self._capture_approval(event)
        if event.send:
            await live.publish(Frame(event.kind, wire, self.seq))

    async def _capture_approval(self, event: StudioEvent) -> None:
        payload = event.payload
        approval_id = payload.get("approvalId")
        if not isinstance(approval_id, str) or not approval_id:
            return
        if event.kind == "approval.required":
            await self.store.upsert_approval_ref(
                thread_id=self.thread_id,
                run_id=self.run_id,
                approval_id=approval_id,
                payload={
                    **{k: v for k, v in payload.items() if k != "raw"},
                    "agentId": self.agent_id,
                },
            )
        elif event.kind == "approval.decision":
            with contextlib.suppress(KeyError):  # decided before this run recorded it
                raw = payload.get("raw")
                feedback = raw.get("feedback") if isinstance(raw, Mapping) else None
                await self.store.update_approval_ref(
                    approval_id,
                    str(payload["status"]),
                    feedback if isinstance(feedback, str) else None,
                )

    async def drive(self, live: LiveRun) -> None:
        """Run the chat to its terminal event (see the module doc)."""
        task = asyncio.current_task()
        live.on_cancel(lambda _reason: self._stop_runtime(task))
        try:
            async for raw in self.stream:
                event = self.mapper.map(raw)
                if event is not None:
                    await self._record(live, event)
                if self.status is not None or live.cancel_requested:
                    break
            if self.status is None:
                cancelled = live.cancel_requested
                final = self.mapper.cancelled() if cancelled else self.mapper.completed()
                await self._record(live, final)
        except asyncio.CancelledError:
            await self._finish_quietly(live, self.mapper.cancelled())
            raise
        except Exception as exc:
            message = scrub_secrets(f"{type(exc).__name__}: {exc}")
            logger.warning("chat run %s failed: %s", self.run_id, message)
            await self._finish_quietly(live, self.mapper.failed(message))
        finally:
            self._cancel_stream()
            await self._store_answer()

    def _cancel_stream(self) -> bool:
        cancel = getattr(self.stream, "cancel", None)
        if not callable(cancel):
            return False
        cancel()
        return True

    def _stop_runtime(self, task: asyncio.Task[Any] | None) -> None:
        # A stream without cancel() (a plain async generator) may be waiting on anything:
        # stopping the driving task is the only way to end the run.
        if not self._cancel_stream() and task is not None:
            task.cancel()

    async def _finish_quietly(self, live: LiveRun, event: StudioEvent) -> None:
        if self.status is not None:
            return
        try:
            await self._record(live, event)
        except Exception:  # the store itself failed; the run still ends
            logger.exception("could not record the end of chat run %s", self.run_id)
            self.status = event.kind.removeprefix("run.")

    async def _store_answer(self) -> None:
        if self._answer_stored:
            return
        self._answer_stored = True
        status = None if self.status in (None, "completed") else self.status
        content, metadata = self.transcript.message(self.run_id, status)
        try:
            await self.store.append_message(self.thread_id, "assistant", content, metadata)
            if status is not None:
                await self.store.expire_pending_approvals(self.run_id)
        except Exception:
            logger.exception("could not store the answer of chat run %s", self.run_id)
