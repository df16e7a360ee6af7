"""Resolving an app reference ``package.module:symbol`` to the ``FlowAIApp`` it names.

:func:`resolve_app_reference` is what ``flowai-harness dev|serve --app`` use; a failure is an
:class:`AppImportError` that renders as the Studio error envelope.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.studio.workspaces import type_name

if TYPE_CHECKING:
    from flowai_harness.studio.apps import FlowAIApp

__all__ = ["AppImportError", "AppImportErrorCode", "resolve_app_reference"]

AppImportErrorCode = Literal[
    "app_import.invalid_reference",
    "app_import.module_failed",
    "app_import.symbol_missing",
    "app_import.invalid_type",
    "app_import.factory_failed",
]


class AppImportError(ConfigurationError):
    """An app reference ``package.module:symbol`` could not be resolved to a ``FlowAIApp``."""

    def __init__(
        self,
        *,
        reference: str,
        module: str | None,
        symbol: str | None,
        code: AppImportErrorCode,
        message: str,
    ) -> None:
        super().__init__(message)
        self.reference = reference
        self.module = module
        self.symbol = symbol
        self.code: AppImportErrorCode = code
        self.message = message

    def to_error_response(self) -> dict[str, Any]:
        """Return the Studio error envelope for this failure.

        Returns:
            ``{"error": {"code", "message", "retryable": False, "details": {...}}}`` where the
            details name the reference, module and symbol.
        """
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "retryable": False,
                "details": {
                    "reference": self.reference,
                    "module": self.module,
                    "symbol": self.symbol,
                },
            }
        }

    #: Former name of :meth:`to_error_response`, kept for existing callers.
    to_envelope = to_error_response


def _split_reference(reference: str) -> tuple[str, str]:
    module_name, sep, symbol = reference.partition(":")
    if not sep or not module_name.strip() or not symbol.strip():
        raise AppImportError(
            reference=reference,
            module=module_name or None,
            symbol=symbol or None,
            code="app_import.invalid_reference",
            message=(
                f"app reference {reference!r} must look like 'package.module:symbol' "
                f"with a non-empty module and symbol"
            ),
        )
    return module_name.strip(), symbol.strip()


def _accepts_no_arguments(candidate: Callable[..., Any]) -> bool:
    try:
        signature = inspect.signature(candidate)
    except (TypeError, ValueError):
        return True  # some builtins have no signature: let the call decide
    try:
        signature.bind()
    except TypeError:
        return False
    return True


def resolve_app_reference(reference: str) -> FlowAIApp:
    """Import ``package.module:symbol`` and return the ``FlowAIApp`` it names.

    The current directory is put first on ``sys.path``. The symbol is looked up as one attribute
    (no dotted walk); if it is a callable other than an app it is called with no arguments.

    Args:
        reference: ``"package.module:symbol"``.

    Returns:
        The app.

    Raises:
        SpecTypeError: ``reference`` is not a string.
        AppImportError: Malformed reference (``app_import.invalid_reference``), the module
            failed to import (``app_import.module_failed``), the attribute is missing
            (``app_import.symbol_missing``), the factory raised (``app_import.factory_failed``)
            or the result is not a ``FlowAIApp`` (``app_import.invalid_type``).
    """
    if not isinstance(reference, str):
        raise SpecTypeError(
            f"app reference must be a string 'package.module:symbol', got {type_name(reference)}"
        )
    module_name, symbol = _split_reference(reference)

    def fail(code: AppImportErrorCode, message: str) -> AppImportError:
        return AppImportError(
            reference=reference, module=module_name, symbol=symbol, code=code, message=message
        )

    cwd = os.getcwd()
    if not sys.path or sys.path[0] not in ("", cwd):
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        raise fail(
            "app_import.module_failed",
            f"could not import module {module_name!r} for app reference {reference!r}: "
            f"{type(exc).__name__}: {exc}",
        ) from exc
    try:
        target = getattr(module, symbol)
    except AttributeError:
        raise fail(
            "app_import.symbol_missing",
            f"module {module_name!r} has no attribute {symbol!r} (app reference {reference!r})",
        ) from None
    from flowai_harness.studio.apps import FlowAIApp

    if callable(target) and not isinstance(target, FlowAIApp):
        if not _accepts_no_arguments(target):
            raise fail(
                "app_import.invalid_type",
                f"{reference!r} is a callable that needs arguments; expected a FlowAIApp "
                f"or a zero-argument callable returning one",
            )
        try:
            target = target()
        except Exception as exc:
            raise fail(
                "app_import.factory_failed",
                f"app factory {reference!r} raised {type(exc).__name__}: {exc}",
            ) from exc
    if not isinstance(target, FlowAIApp):
        raise fail(
            "app_import.invalid_type",
            f"{reference!r} resolved to {type_name(target)}; expected a FlowAIApp "
            f"(from define_app) or a zero-argument callable returning one",
        )
    return target
