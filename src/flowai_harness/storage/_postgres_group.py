"""Group commit for the Postgres store: concurrent batches of one event loop share a statement.

While one ``write_batch`` statement of a loop is on its way, the batches submitted meanwhile
wait; the next statement then writes up to :data:`GROUP_LIMIT` of them together, each under
its own guard (see ``group_statement``). A batch writing (putting or deleting) a key never
shares a statement with another batch writing or guarded by that key, and a batch guarded on
an absent key (two statements under an advisory lock) always goes alone. With eight runs
checkpointing at once this turns eight statements (eight commits) into one or two, without
delaying a lone writer: a batch that finds nothing in flight is sent at once.

If a shared statement fails (one batch holds a value Postgres refuses, or two processes'
statements deadlock on their guard rows), every batch of it is retried alone, so each caller
gets its own result or error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from flowai_harness.storage._runstore import Batch

__all__ = ["GROUP_LIMIT", "GroupWriter"]

#: at most this many batches share one statement
GROUP_LIMIT = 16

WriteOne = Callable[[str, Batch], Awaitable[bool]]
WriteMany = Callable[[Sequence[tuple[str, Batch]]], Awaitable[list[bool]]]


@dataclass(eq=False, slots=True)
class _Item:
    tenant: str
    batch: Batch
    future: asyncio.Future[bool]
    #: the keys it writes (puts, deletes), and its guard key
    writes: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    guards: frozenset[tuple[str, str]] = field(default_factory=frozenset)


class GroupWriter:
    """The batches of one event loop waiting to be written, and the task writing them."""

    def __init__(
        self, write_one: WriteOne, write_many: WriteMany, closed: Callable[[], Exception]
    ) -> None:
        self._write_one = write_one
        self._write_many = write_many
        #: the error of a batch the store was closed before it could write
        self._closed = closed
        self._pending: list[_Item] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, tenant: str, batch: Batch) -> bool:
        """Write ``batch`` (alone or with others); return whether its guard held."""
        loop = asyncio.get_running_loop()
        item = _Item(
            tenant,
            batch,
            loop.create_future(),
            frozenset((tenant, k) for k in (*batch.puts, *batch.deletes)),
            frozenset([(tenant, batch.guard[0])] if batch.guard else []),
        )
        self._pending.append(item)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name="flowai-kv-postgres-group")
        return await item.future

    async def close(self, grace: float = 10.0) -> None:
        """Let the batches already submitted be written (for up to ``grace`` seconds), then
        stop; a batch still waiting then fails with the store's closed error."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=grace)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for item in self._pending:
            if not item.future.done():
                item.future.set_exception(self._closed())
        self._pending.clear()

    async def _drain(self) -> None:
        while self._pending:
            group = self._take()
            if len(group) == 1:
                await self._alone(group[0])
                continue
            try:
                results = await self._write_many([(i.tenant, i.batch) for i in group])
            except asyncio.CancelledError:
                for item in group:
                    if not item.future.done():
                        item.future.set_exception(self._closed())
                raise
            except Exception:
                for item in group:
                    await self._alone(item)
                continue
            for item, held in zip(group, results, strict=True):
                if not item.future.done():
                    item.future.set_result(held)

    def _take(self) -> list[_Item]:
        """The next batches to write together (the oldest first); the rest keep waiting."""
        group: list[_Item] = []
        written: set[tuple[str, str]] = set()
        touched: set[tuple[str, str]] = set()
        rest: list[_Item] = []
        for item in self._pending:
            if item.future.done():  # its caller gave up before it was sent
                continue
            # Two batches may share a guard key (each only reads it), never a key one writes.
            fits = (
                len(group) < GROUP_LIMIT
                and not (item.writes & touched)
                and not (item.guards & written)
                and not (group and (_alone(item) or _alone(group[0])))
            )
            if fits:
                group.append(item)
                written |= item.writes
                touched |= item.writes | item.guards
            else:
                rest.append(item)
        self._pending = rest
        return group

    async def _alone(self, item: _Item) -> None:
        try:
            held = await self._write_one(item.tenant, item.batch)
        except asyncio.CancelledError:
            if not item.future.done():
                item.future.set_exception(self._closed())
            raise
        except Exception as error:
            if not item.future.done():
                item.future.set_exception(error)
            return
        if not item.future.done():
            item.future.set_result(held)


def _alone(item: _Item) -> bool:
    return item.batch.guard is not None and item.batch.guard[1] is None
