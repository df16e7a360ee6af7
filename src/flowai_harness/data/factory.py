"""Build the catalog toolkit's handlers from a data environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowai_harness.ports import KeyValueStore

__all__ = ["catalog_tool_handlers"]


def catalog_tool_handlers(
    env: Mapping[str, Any] | None,
    resource_id: str,
    *,
    kv: KeyValueStore | None = None,
    verify_target: bool = False,
) -> dict[str, Callable[..., Any]]:
    """Return the handlers of the seven catalog tools, keyed by tool name.

    The backends are bound to the scope (``resource_id``, ``workspaceId`` or ``default``).
    Inline catalogs are parsed and descriptors checked here, so a broken environment fails
    ``create_runtime``; connections open on the first tool call. A tool whose backend is
    missing still gets a handler, which answers with the spec's error naming the
    ``data_environment`` section to add (so does every tool when ``env`` is ``None``).

    Args:
        env: The data environment wire dict (``normalize_data_environment`` output) or ``None``.
        resource_id: The runtime tenant.
        kv: The KV store for document and knowledge bodies; by default the runtime's KV store
            is used at call time.
        verify_target: Open the target database now and refuse a PostgreSQL connection role
            that could write or is privileged (what ``create_runtime`` does).

    Raises:
        DataEnvironmentError: A descriptor cannot be used (``rebuild_on_start`` without a
            catalog, an unset ``url_env`` variable, …).
        SpecValueError: An inline catalog entry is malformed.
        MissingDependencyError: A ``postgres`` backend without ``psycopg`` installed.
        PrivilegedTargetRoleError: ``verify_target`` and the target role is privileged.
    """
    from flowai_harness.data.environment import DataBackends
    from flowai_harness.data.toolkit.handlers import CatalogToolkit

    backends = DataBackends(env, resource_id, kv=kv)
    toolkit = CatalogToolkit(backends)
    if verify_target:
        backends.verify_target()
    return dict(toolkit.handlers())
