"""A module whose import fails, for the CLI's import-error path."""

raise RuntimeError("this module cannot be imported")
