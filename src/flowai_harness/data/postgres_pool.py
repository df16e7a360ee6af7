"""A pooled PostgreSQL connection for the data backends (catalog and target database).

One ``psycopg_pool.ConnectionPool`` per backend, opened on first use. The pool is synchronous
and every unit of work runs in a worker thread, so a backend is not tied to one event loop.
Driver errors are translated into our error tree with the connection password scrubbed out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flowai_harness.data.connections import ConnectionTarget, require_psycopg
from flowai_harness.errors import DataEnvironmentError, MissingDependencyError, StoreError

__all__ = ["PostgresConnector"]

T = TypeVar("T")

_CONNECT_TIMEOUT_S = 10.0


class PostgresConnector:
    """Runs units of work on pooled connections, each inside one transaction."""

    placeholder = "%s"

    def __init__(
        self,
        target: ConnectionTarget,
        *,
        section: str,
        max_size: int = 4,
        on_open: Callable[[Any], None] | None = None,
        reset: Callable[[Any], None] | None = None,
        autocommit: bool = False,
        pool_timeout_s: float = _CONNECT_TIMEOUT_S,
    ) -> None:
        require_psycopg(f"data_environment.{section} kind postgres")
        self.target = target
        self.section = section
        self.max_size = max_size
        self.pool_timeout_s = pool_timeout_s
        self._on_open = on_open
        self._reset = reset
        self._autocommit = autocommit
        self._lock = threading.Lock()
        self._pool: Any = None

    def _open_pool(self) -> Any:
        try:
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise MissingDependencyError(
                f"data_environment.{self.section} kind postgres needs psycopg-pool; install it "
                "with: pip install 'flowai-harness[postgres]'"
            ) from exc
        import psycopg

        # Fail fast with the driver's reason: the pool would retry in the background for its
        # whole timeout and only then report a generic PoolTimeout.
        try:
            psycopg.connect(self.target.url, connect_timeout=int(_CONNECT_TIMEOUT_S)).close()
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split())
            raise self.target.error(self.section, "cannot connect", reason) from exc
        pool = ConnectionPool(
            self.target.url,
            min_size=1,
            max_size=self.max_size,
            open=False,
            timeout=self.pool_timeout_s,
            kwargs={"connect_timeout": int(_CONNECT_TIMEOUT_S), "autocommit": self._autocommit},
            reset=self._reset,
            name=f"flowai-{self.section}",
        )
        try:
            pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
            if self._on_open is not None:
                with pool.connection() as conn:
                    self._on_open(conn)
        except DataEnvironmentError:
            pool.close()
            raise
        except Exception as exc:
            pool.close()
            raise self.target.error(self.section, "cannot connect", exc) from exc
        return pool

    def _get_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                self._pool = self._open_pool()
            return self._pool

    def run(self, work: Callable[[Any], T], write: bool = False) -> T:
        """Run ``work(connection)`` in one transaction (committed if it returns)."""
        import psycopg

        pool = self._get_pool()
        try:
            with pool.connection() as conn, conn.transaction():
                return work(conn)
        except psycopg.Error as exc:
            raise StoreError(
                f"data_environment.{self.section} (postgres {self.target.redacted}) failed: "
                f"{type(exc).__name__}: {self.target.scrub(str(exc).strip())}"
            ) from exc

    def connection(self) -> Any:
        """Return the pool's connection context manager (for callers managing transactions).

        Waiting for a free connection lasts at most ``pool_timeout_s``; then
        ``psycopg_pool.PoolTimeout`` is raised.
        """
        return self._get_pool().connection(timeout=self.pool_timeout_s)

    def open(self) -> None:
        """Open the pool now (connecting, and running ``on_open``) rather than on first use."""
        self._get_pool()

    def close(self) -> None:
        """Close the pool; a later call reopens it."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
