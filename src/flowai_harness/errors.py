"""The one exception tree of flowai-harness.

Every error the library raises on purpose derives from :class:`HarnessError`. Where the public
contract promises a built-in type (``ValueError`` for bad values, ``TypeError`` for wrong types,
``RuntimeError`` for failures while running), the class also derives from that type, so
``except ValueError`` keeps working for callers written against the reference documentation.
In the same way :class:`SpecValidationError` is also a ``pydantic.ValidationError``.

Every message says what is wrong and, where the caller can do something about it, how to fix it
(the closest valid name for a misspelling, the argument or extra to add).

This module depends on nothing else in the package (pydantic aside), so every layer may import
it.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

__all__ = [
    "ApprovalAlreadyResolvedError",
    "ApprovalError",
    "ApprovalNotFoundError",
    "ConfigurationError",
    "DataEnvironmentError",
    "HarnessError",
    "MissingDependencyError",
    "MissingServiceError",
    "PlanStateError",
    "PrivilegedTargetRoleError",
    "ProviderError",
    "ReferenceNotFoundError",
    "ReferenceValidationError",
    "RunError",
    "SpecTypeError",
    "SpecValidationError",
    "SpecValueError",
    "SqlRejectedError",
    "StoreError",
    "TargetDatabaseBusyError",
    "ThreadBusyError",
    "UnknownAgentError",
]


class HarnessError(Exception):
    """Base class of every error raised by flowai-harness on purpose."""


class SpecValueError(HarnessError, ValueError):
    """A spec or argument has a value the public API does not accept."""


class SpecTypeError(HarnessError, TypeError):
    """A spec or argument has a type the public API does not accept."""


class SpecValidationError(ValidationError, SpecValueError):
    """A spec failed validation: still a ``pydantic.ValidationError`` (``errors()`` unchanged),
    but ``str()`` is one plain line per problem saying what is wrong and how to fix it."""

    _text: str

    @classmethod
    def of(cls, error: ValidationError, text: str) -> SpecValidationError:
        """Return ``error`` as a :class:`SpecValidationError` whose ``str()`` is ``text``."""
        converted = cls._rebuild(error)
        converted._text = text
        return converted

    @classmethod
    def _rebuild(cls, error: ValidationError) -> SpecValidationError:
        lines: list[InitErrorDetails] = []
        for line in error.errors(include_url=False):
            detail: Any = {key: line[key] for key in ("type", "loc", "input", "ctx") if key in line}
            try:
                ValidationError.from_exception_data(error.title, [detail])
            except (KeyError, TypeError, ValueError):
                # A custom error type: carry its message as it was.
                detail["type"] = PydanticCustomError(line["type"], line["msg"])
                detail.pop("ctx", None)
            lines.append(detail)
        return cls.from_exception_data(error.title, lines)

    def __str__(self) -> str:
        return getattr(self, "_text", None) or super().__str__()

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the plain text across pickling and copying (pydantic rebuilds from the lines).
        reduced: Any = super().__reduce__()
        return (_restore_spec_validation_error, (reduced[0], reduced[1], str(self)))


def _restore_spec_validation_error(
    rebuild: Any, args: tuple[Any, ...], text: str
) -> SpecValidationError:
    error: SpecValidationError = rebuild(*args)
    error._text = text
    return error


class UnknownAgentError(SpecValueError):
    """A call named an agent the runtime does not have (``run_specialist("greter")``)."""


class MissingServiceError(HarnessError, KeyError, AttributeError):
    """A tool read a service its context does not carry (``ctx.db`` without ``services=``)."""

    def __str__(self) -> str:
        # KeyError would show the quoted repr of the message.
        return str(self.args[0]) if self.args else ""


class ConfigurationError(SpecValueError):
    """``create_runtime`` (or another builder) was given a configuration it cannot run."""


class DataEnvironmentError(ConfigurationError):
    """A data environment descriptor is invalid or its backend cannot be opened."""


class PrivilegedTargetRoleError(DataEnvironmentError):
    """The target database role can write or is privileged, and ``allow_privileged`` is unset."""


class MissingDependencyError(HarnessError, ImportError):
    """An optional dependency is needed for a feature; the message names the extra to install."""


class ApprovalError(SpecValueError):
    """An approval response cannot be applied."""


class ApprovalNotFoundError(ApprovalError):
    """``respond_to_approval`` named an approval id this runtime never registered."""


class ApprovalAlreadyResolvedError(ApprovalError):
    """``respond_to_approval`` named an approval id that was already resolved or expired."""


class ReferenceValidationError(SpecValueError):
    """A reference value is invalid for its kind (unknown kind, schema failure, bad handle)."""


class ReferenceNotFoundError(SpecValueError):
    """A reference is missing, expired, or owned by another tenant."""


class PlanStateError(SpecValueError):
    """A plan cannot take the asked move from the status it is in (``Runtime.settle_plan`` on
    a plan that does not need reconciliation), or the plan id is unknown."""


class SqlRejectedError(SpecValueError):
    """A SQL statement was refused because it is not a single read-only query."""


class RunError(HarnessError, RuntimeError):
    """A run or evaluation failed while executing."""


class ProviderError(RunError):
    """A model provider failed (HTTP error, broken stream, timeout) after any retries."""


class StoreError(RunError):
    """A storage backend failed to read or write."""


class TargetDatabaseBusyError(StoreError):
    """Every pooled target database connection stayed busy for the whole pool timeout."""


class ThreadBusyError(RunError):
    """Another run holds the conversation thread (in this process or another worker sharing
    the store) and the runtime's thread policy is ``reject``."""
