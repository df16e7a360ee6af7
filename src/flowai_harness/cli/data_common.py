"""Shared pieces of the ``flowai-harness data`` commands: the data environment, the scope, the
scope flags, secret masking, logging and running a coroutine with errors turned into exit codes.

Exit codes: 0 on success; 1 when the environment or the job fails (engine errors, including a
failed table or file after the output was printed); 2 for usage errors (bad or missing flags, no
``--data-environment``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from flowai_harness.cli.app import LOG_LEVELS, GlobalOptions, OptionDecorator, option_group
from flowai_harness.cli.data_output import warn
from flowai_harness.cli.environment_file import read_data_environment

if TYPE_CHECKING:
    from flowai_harness.ports import ModelClient

__all__ = [
    "DEFAULT_TENANT",
    "DataCommandContext",
    "anthropic_client",
    "anthropic_options",
    "finish_catalog_job",
    "load_data_context",
    "mask_secrets",
    "non_blank",
    "run_command",
    "scope_options",
]

T = TypeVar("T")

#: Scope tenant of data commands when neither ``--tenant-id`` nor ``tenant_id`` is given.
DEFAULT_TENANT = "flowai-runtime-data"

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>()\[\]{}]+")
_SECTIONS = ("kv", "catalog", "targetDatabase")


def mask_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secrets and the credentials of every URL in ``text``.

    Args:
        text: A message about to be printed.
        secrets: Exact strings to replace with ``***`` (passwords, API keys).
    """
    from flowai_harness.specs.data_environment import redact_url

    for secret in sorted({s for s in secrets if s and len(s) >= 2}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def non_blank(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: refuse blank strings (one value or each of a multiple option)."""
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if isinstance(item, str) and not item.strip():
            raise click.BadParameter("must not be blank")
    return value


def scope_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--tenant-id`` and ``--workspace-id`` (the SCOPE flags) to a command."""
    command = click.option(
        "--workspace-id",
        default=None,
        callback=non_blank,
        help="Scope workspace [default: the environment's workspace_id, else default].",
    )(command)
    return click.option(
        "--tenant-id",
        default=None,
        callback=non_blank,
        help=f"Scope tenant [default: the environment's tenant_id, else {DEFAULT_TENANT}].",
    )(command)


def anthropic_options(*, key_help: str, model_help: str) -> OptionDecorator:
    """Add ``--anthropic-api-key`` (``ANTHROPIC_API_KEY``), ``--anthropic-model`` and
    ``--anthropic-base-url`` (``ANTHROPIC_BASE_URL``) to a command that calls Claude."""
    return option_group(
        click.option(
            "--anthropic-api-key",
            envvar="ANTHROPIC_API_KEY",
            default=None,
            show_envvar=True,
            help=key_help,
        ),
        click.option("--anthropic-model", default=None, callback=non_blank, help=model_help),
        click.option(
            "--anthropic-base-url",
            envvar="ANTHROPIC_BASE_URL",
            default=None,
            show_envvar=True,
            help="Anthropic API base URL.",
        ),
    )


@dataclass(slots=True)
class DataCommandContext:
    """What every data command needs: options, the environment (wire form) and the scope."""

    options: GlobalOptions
    env_path: Path
    env: dict[str, Any]
    tenant: str
    workspace: str
    secrets: list[str] = field(default_factory=list)

    def mask(self, text: str) -> str:
        """Mask every secret of the environment (and any URL credentials) in ``text``."""
        return mask_secrets(text, self.secrets)

    def has(self, section: str) -> bool:
        """Whether the environment configures ``section`` (wire key)."""
        return self.env.get(section) is not None


def anthropic_client(
    data: DataCommandContext,
    key: str | None,
    *,
    base_url: str | None,
    missing_key: str,
    timeout_s: float,
) -> ModelClient:
    """Return the Anthropic model client of a command; the key becomes a masked secret.

    The client is the live ``anthropic`` provider agents use (with its retries on 429, 5xx and
    connection errors), set up as these commands always called Claude: at most 2 retries and
    4,096 output tokens per call.

    Args:
        data: The command's context (the key is added to its secrets).
        key: ``--anthropic-api-key`` (or ``ANTHROPIC_API_KEY``).
        base_url: ``--anthropic-base-url`` (or ``ANTHROPIC_BASE_URL``); blank means the API's.
        missing_key: The error message when ``key`` is missing or blank.
        timeout_s: Time limit of one call, in seconds.

    Raises:
        click.ClickException: ``key`` is missing or blank, the base URL is not an http(s) URL,
            or the ``anthropic`` SDK is not installed.
    """
    from flowai_harness.errors import HarnessError
    from flowai_harness.providers.factory import provider_client

    if not key or not key.strip():
        raise click.ClickException(missing_key)
    data.secrets.append(key)
    config: dict[str, Any] = {
        "apiKey": key.strip(),
        "timeoutSecs": timeout_s,
        "maxRetries": 2,
        "maxTokens": 4096,
    }
    if base_url and base_url.strip():
        config["baseUrl"] = base_url.strip()
    try:
        return provider_client("anthropic", config)
    except HarnessError as exc:
        raise click.ClickException(data.mask(str(exc))) from None


def finish_catalog_job(
    ctx: click.Context,
    data: DataCommandContext,
    *,
    index_health: str | None,
    failures: Sequence[str],
) -> None:
    """Close a command that wrote to the catalog, after its output.

    Warns when the scope's search index is stale or unavailable, then prints each failure and
    exits 1 when there is any.
    """
    if index_health in ("stale", "unavailable"):
        warn(
            data.options,
            f"the catalog search index is {index_health}; run "
            "'flowai-harness data catalog index rebuild' before searching",
        )
    if failures:
        for failure in failures:
            click.echo(f"error: {failure}", err=True)
        ctx.exit(1)


def _environment_secrets(env: Mapping[str, Any]) -> list[str]:
    from flowai_harness.data.connections import connection_target

    found: list[str] = []
    descriptors = [env.get(section) for section in _SECTIONS]
    if isinstance(env.get("targetDatabaseUrl"), str):
        descriptors.append({"url": env["targetDatabaseUrl"]})
    for descriptor in descriptors:
        if not isinstance(descriptor, Mapping) or not (
            descriptor.get("url") or descriptor.get("urlEnv")
        ):
            continue
        try:
            target = connection_target(descriptor, section="data")
        except Exception:
            continue  # an unset url_env fails later, with its own message
        found += target.secrets
    return found


def load_data_context(
    ctx: click.Context, tenant_id: str | None, workspace_id: str | None
) -> DataCommandContext:
    """Read and validate ``--data-environment`` and resolve the scope.

    Raises:
        click.UsageError: No ``--data-environment`` was given (exit 2).
        click.ClickException: The file cannot be read or the environment is invalid (exit 1).
    """
    from flowai_harness.specs.data_environment import DEFAULT_WORKSPACE, normalize_data_environment

    options = ctx.find_root().obj
    if not isinstance(options, GlobalOptions):
        options = GlobalOptions()
    path = options.data_environment
    if path is None:
        raise click.UsageError(
            "data commands need a data environment: pass --data-environment PATH "
            "(a .json or .toml file)",
            ctx=ctx,
        )
    raw = read_data_environment(path)
    try:
        env = normalize_data_environment(raw, runtime_resource_id=None) or {}
    except (ValueError, TypeError) as exc:
        # Spec errors are plain text, one line per problem: keep the lines.
        message = mask_secrets(str(exc).strip(), _raw_urls(raw))
        separator = "\n" if "\n" in message else " "
        raise click.ClickException(
            f"invalid data environment {path}:{separator}{message}"
        ) from None
    return DataCommandContext(
        options=options,
        env_path=path,
        env=env,
        tenant=tenant_id or env.get("tenantId") or DEFAULT_TENANT,
        workspace=workspace_id or env.get("workspaceId") or DEFAULT_WORKSPACE,
        secrets=_environment_secrets(env),
    )


def _raw_urls(raw: Any) -> list[str]:
    """Every string value of a raw environment that looks like a URL (for masking)."""
    found: list[str] = []
    if isinstance(raw, Mapping):
        for value in raw.values():
            found += _raw_urls(value)
    elif isinstance(raw, list):
        for value in raw:
            found += _raw_urls(value)
    elif isinstance(raw, str) and "://" in raw:
        from flowai_harness.specs.data_environment import redact_url

        if redact_url(raw) != raw:
            found.append(raw)
    return found


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


@contextlib.contextmanager
def _logging_to_stderr(options: GlobalOptions) -> Iterator[None]:
    """Send the package's logs to stderr at the chosen level while a command runs."""
    logger = logging.getLogger("flowai_harness")
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(LOG_LEVELS[options.effective_log_level])
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def run_command(data: DataCommandContext, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work()`` on a fresh event loop; turn library errors into exit code 1.

    Every message is masked with the environment's secrets before it is printed.
    """
    from flowai_harness.errors import HarnessError

    try:
        with _logging_to_stderr(data.options):
            return asyncio.run(work())
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        raise click.ClickException("interrupted") from None
    except (HarnessError, ValueError, TypeError, OSError, ImportError) as exc:
        message = str(exc) if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
        raise click.ClickException(data.mask(message)) from None
