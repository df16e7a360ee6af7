"""A module that imports a dependency that is not installed."""

import flowai_harness_no_such_dependency  # noqa: F401
