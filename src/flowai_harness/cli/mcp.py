"""``flowai-harness mcp``: serve an agent's tools to MCP clients.

* ``mcp python MODULE:OBJECT --agent A`` imports ``MODULE`` (the current directory is on the
  import path), follows the dotted ``OBJECT``, calls it when it is callable (a factory), and
  serves agent ``A`` of the resulting runtime.
* ``mcp toolkit --toolkit ID ...`` serves built-in toolkits only, from the data environment
  given with the global ``--data-environment`` (mandatory here).

Both take the transport flags: ``--transport stdio|streamable-http`` (stdio by default),
``--host``, ``--port``, ``--path``, ``--allow-origin`` (repeatable), ``--no-origin-check``,
``--allowed-host`` (repeatable), ``--thread-id``, ``--call-timeout-secs``,
``--expose-agent-tools`` and ``--token`` (or the ``FLOWAI_MCP_TOKEN`` environment variable)
for a bearer token on HTTP. A ``--host`` reachable from the network (anything but a loopback
address) needs the token.

Exit codes: 0 when the client disconnects or the server is stopped; 2 for usage errors (bad
flags, a network ``--host`` without a token, a malformed or unresolvable ``MODULE:OBJECT``, an
object that is not a runtime, a missing data environment); 1 when the target raises while
loading, or the runtime refuses the request or fails while serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

from flowai_harness.cli.app import LOG_LEVELS, GlobalOptions, global_options, option_group
from flowai_harness.cli.environment_file import read_data_environment
from flowai_harness.cli.patch_points import current_patch_points

__all__ = ["TOKEN_ENV", "load_runtime_target", "mcp_group"]

#: Environment variable read by ``--token``.
TOKEN_ENV = "FLOWAI_MCP_TOKEN"

_HTTP_ONLY = {
    "host": "--host",
    "port": "--port",
    "path": "--path",
    "allow_origins": "--allow-origin",
    "no_origin_check": "--no-origin-check",
    "allowed_hosts": "--allowed-host",
    "token": "--token",
}


@dataclass(frozen=True, slots=True)
class _Transport:
    transport: str
    host: str
    port: int
    path: str
    allow_origins: tuple[str, ...]
    no_origin_check: bool
    allowed_hosts: tuple[str, ...]
    thread_id: str | None
    call_timeout_secs: float
    expose_agent_tools: bool
    token: str | None


def _positive_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise click.BadParameter(f"must be a positive, finite number of seconds; got {value}")
    return value


def _non_blank(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("must not be blank")
    return value


_transport_options = option_group(
    click.option(
        "--transport",
        type=click.Choice(["stdio", "streamable-http"]),
        default="stdio",
        show_default=True,
        help="MCP transport.",
    ),
    click.option(
        "--host", default="127.0.0.1", show_default=True, help="Bind address (streamable-http)."
    ),
    click.option(
        "--port",
        type=click.IntRange(0, 65535),
        default=8765,
        show_default=True,
        help="Port (streamable-http); 0 picks a free one.",
    ),
    click.option(
        "--path", default="/mcp", show_default=True, help="Endpoint path (streamable-http)."
    ),
    click.option(
        "--allow-origin",
        "allow_origins",
        multiple=True,
        metavar="ORIGIN",
        help="Browser origin allowed to call the server (repeatable).",
    ),
    click.option(
        "--no-origin-check",
        is_flag=True,
        help="Turn off the Origin check (DNS-rebinding protection).",
    ),
    click.option(
        "--allowed-host",
        "allowed_hosts",
        multiple=True,
        metavar="HOST",
        help="Host header name accepted besides the bind address (repeatable).",
    ),
    click.option(
        "--thread-id",
        callback=_non_blank,
        default=None,
        help="Thread id of every call [default: mcp-<uuid4>].",
    ),
    click.option(
        "--call-timeout-secs",
        type=float,
        default=30.0,
        show_default=True,
        callback=_positive_seconds,
        help="Time limit of one tool call.",
    ),
    click.option(
        "--expose-agent-tools",
        is_flag=True,
        help="Reserved: refuse agents with call_agent instead of hiding it.",
    ),
    click.option(
        "--token",
        envvar=TOKEN_ENV,
        default=None,
        callback=_non_blank,
        help=(
            f"Bearer token required on HTTP requests; mandatory for a non-loopback --host "
            f"[env: {TOKEN_ENV}]."
        ),
    ),
)


def _collect_transport(ctx: click.Context, params: dict[str, Any]) -> _Transport:
    if params["transport"] == "stdio":
        given = [
            flag
            for name, flag in _HTTP_ONLY.items()
            if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
        ]
        if given:
            raise click.UsageError(
                f"{', '.join(given)} only apply to --transport streamable-http", ctx=ctx
            )
    else:
        _check_exposure(ctx, params["host"], params["token"])
    return _Transport(
        transport=params["transport"],
        host=params["host"],
        port=params["port"],
        path=params["path"],
        allow_origins=tuple(params["allow_origins"]),
        no_origin_check=params["no_origin_check"],
        allowed_hosts=tuple(params["allowed_hosts"]),
        thread_id=params["thread_id"],
        call_timeout_secs=params["call_timeout_secs"],
        expose_agent_tools=params["expose_agent_tools"],
        token=params["token"],
    )


def _check_exposure(ctx: click.Context, host: str, token: str | None) -> None:
    from flowai_harness._mcp_serving.exposure import require_token_for_network, resolve_bind_host

    try:
        require_token_for_network(
            resolve_bind_host(host),
            token,
            server="MCP tools",
            remedy=f"--token or {TOKEN_ENV}",
        )
    except ValueError as exc:
        raise click.UsageError(str(exc), ctx=ctx) from None


@click.group(name="mcp")
@global_options
def mcp_group() -> None:
    """Serve an agent's tools to MCP clients over stdio or Streamable HTTP."""


@mcp_group.command(name="python")
@click.argument("target", metavar="MODULE:OBJECT")
@click.option("--agent", required=True, callback=_non_blank, help="Agent whose tools to serve.")
@_transport_options
@global_options
@click.pass_context
def mcp_python(ctx: click.Context, /, target: str, agent: str, **params: Any) -> None:
    """Serve AGENT of the runtime at MODULE:OBJECT (a Runtime, or a callable returning one)."""
    transport = _collect_transport(ctx, params)
    load = current_patch_points().load_runtime_target or load_runtime_target
    if transport.transport == "stdio":
        # stdout is the protocol stream: a print while the target loads must not corrupt it.
        with contextlib.redirect_stdout(sys.stderr):
            runtime = load(target)
    else:
        runtime = load(target)
    _serve(ctx, runtime, agent, transport)


@mcp_group.command(name="toolkit")
@click.option(
    "--toolkit",
    "toolkits",
    multiple=True,
    required=True,
    metavar="ID",
    help="Built-in toolkit to serve (repeatable): catalog, plans, references.",
)
@click.option(
    "--agent",
    default="mcp",
    show_default=True,
    callback=_non_blank,
    help="Name of the serving agent.",
)
@click.option(
    "--tenant-id",
    default="flowai-mcp",
    show_default=True,
    callback=_non_blank,
    help="Tenant id; a data environment tenant_id must match.",
)
@_transport_options
@global_options
@click.pass_context
def mcp_toolkit(
    ctx: click.Context, /, toolkits: tuple[str, ...], agent: str, tenant_id: str, **params: Any
) -> None:
    """Serve built-in toolkits from the data environment (--data-environment is required)."""
    transport = _collect_transport(ctx, params)
    options = ctx.find_root().obj
    env_path = options.data_environment if isinstance(options, GlobalOptions) else None
    if env_path is None:
        raise click.UsageError(
            "mcp toolkit needs a data environment: pass --data-environment PATH "
            "(a .json or .toml file)",
            ctx=ctx,
        )
    _check_toolkit_ids(toolkits)
    environment = read_data_environment(env_path)
    from flowai_harness.mcp import create_mcp_runtime

    try:
        runtime = create_mcp_runtime(
            toolkits=list(dict.fromkeys(toolkits)),
            agent=agent,
            tenant=tenant_id,
            data_environment=environment,
        )
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None
    _serve(ctx, runtime, agent, transport)


def _check_toolkit_ids(toolkits: tuple[str, ...]) -> None:
    from flowai_harness.specs.builtin_tools import BUILTIN_TOOLKITS

    for toolkit in toolkits:
        if toolkit not in BUILTIN_TOOLKITS:
            raise click.BadParameter(
                f"unknown toolkit {toolkit!r}; expected one of: {', '.join(BUILTIN_TOOLKITS)}",
                param_hint="'--toolkit'",
            )


def load_runtime_target(target: str) -> Any:
    """Resolve ``MODULE:OBJECT`` to an object with ``serve_mcp_stdio`` / ``serve_mcp_http``.

    ``MODULE`` is imported with the current directory on the import path, the dotted
    ``OBJECT`` is followed, and a callable found there is called once (a factory).

    Raises:
        click.BadParameter: The reference is malformed, the module or attribute is missing,
            or the object is not a runtime (exit 2).
        click.ClickException: Importing the module or calling the factory raised (exit 1).
    """
    hint = "'MODULE:OBJECT'"
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name.strip() or not attribute.strip():
        raise click.BadParameter(
            f"expected MODULE:OBJECT (for example 'my_app.agents:runtime'); got {target!r}",
            param_hint=hint,
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise click.BadParameter(
                f"cannot import module {module_name!r}: no module named {missing!r} (modules are "
                f"found from the current folder, {cwd}, and PYTHONPATH: run the command from the "
                "folder that holds it, or add that folder to PYTHONPATH)",
                param_hint=hint,
            ) from None
        raise click.ClickException(
            f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    except Exception as exc:
        raise click.ClickException(
            f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    value: Any = module
    walked = module_name
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise click.BadParameter(f"{walked!r} has no attribute {part!r}", param_hint=hint)
        value = getattr(value, part)
        walked = f"{walked}.{part}" if walked != module_name else f"{module_name}:{part}"
    if callable(value):
        try:
            value = value()
        except Exception as exc:
            raise click.ClickException(
                f"calling {target!r} failed: {type(exc).__name__}: {exc}"
            ) from None
        if inspect.isawaitable(value):
            close = getattr(value, "close", None)
            if callable(close):
                close()
            raise click.BadParameter(
                f"{target!r} returned an awaitable; it must return a Runtime (use a plain "
                f"function)",
                param_hint=hint,
            )
    if not (
        callable(getattr(value, "serve_mcp_stdio", None))
        and callable(getattr(value, "serve_mcp_http", None))
    ):
        raise click.BadParameter(
            f"{target!r} is a {type(value).__name__}, not a flowai-harness Runtime (it needs "
            f"serve_mcp_stdio and serve_mcp_http); point it at a Runtime or at a function "
            f"returning one",
            param_hint=hint,
        )
    return value


def _serve(ctx: click.Context, runtime: Any, agent: str, transport: _Transport) -> None:
    if transport.transport == "stdio":
        serving = runtime.serve_mcp_stdio(
            agent,
            thread_id=transport.thread_id,
            call_timeout_secs=transport.call_timeout_secs,
            expose_agent_tools=transport.expose_agent_tools,
        )
    else:
        # Extensions of flowai-harness travel only when used, so any runtime object that
        # implements the documented signature can be served.
        extensions: dict[str, Any] = {}
        if transport.token is not None:
            extensions["bearer_token"] = transport.token
        if transport.allowed_hosts:
            extensions["allowed_hosts"] = list(transport.allowed_hosts)
        serving = runtime.serve_mcp_http(
            agent,
            host=transport.host,
            port=transport.port,
            path=transport.path,
            transport=transport.transport,
            thread_id=transport.thread_id,
            call_timeout_secs=transport.call_timeout_secs,
            expose_agent_tools=transport.expose_agent_tools,
            allowed_origins=list(transport.allow_origins) or None,
            require_origin=not transport.no_origin_check,
            **extensions,
        )
    _configure_logging(ctx)
    try:
        asyncio.run(serving)
    except KeyboardInterrupt:
        return
    except (ValueError, TypeError, RuntimeError, ImportError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def _configure_logging(ctx: click.Context) -> None:
    options = ctx.find_root().obj
    level = LOG_LEVELS[
        options.effective_log_level if isinstance(options, GlobalOptions) else "info"
    ]
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    # The server's lifecycle chatter (uvicorn, the SDK) only shows when asked for with debug.
    for noisy in ("uvicorn", "mcp"):
        logging.getLogger(noisy).setLevel(
            max(level, logging.WARNING) if level > logging.DEBUG else level
        )
