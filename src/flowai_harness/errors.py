"""The one exception tree of flowai-harness.

Every error the library raises on purpose derives from :class:`HarnessError`. Where the public
contract promises a built-in type (``ValueError`` for bad values, ``TypeError`` for wrong types,
``RuntimeError`` for failures while running), the class also derives from that type, so
``except ValueError`` keeps working for callers written against the reference documentation.

This module depends on nothing else in the package, so every layer may import it.
"""

from __future__ import annotations

__all__ = [
    "ApprovalAlreadyResolvedError",
    "ApprovalError",
    "ApprovalNotFoundError",
    "ConfigurationError",
    "DataEnvironmentError",
    "HarnessError",
    "MissingDependencyError",
    "PlanStateError",
    "PrivilegedTargetRoleError",
    "ProviderError",
    "ReferenceNotFoundError",
    "ReferenceValidationError",
    "RunError",
    "SpecTypeError",
    "SpecValueError",
    "SqlRejectedError",
    "StoreError",
    "TargetDatabaseBusyError",
    "ThreadBusyError",
]


class HarnessError(Exception):
    """Base class of every error raised by flowai-harness on purpose."""


class SpecValueError(HarnessError, ValueError):
    """A spec or argument has a value the public API does not accept."""


class SpecTypeError(HarnessError, TypeError):
    """A spec or argument has a type the public API does not accept."""


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
