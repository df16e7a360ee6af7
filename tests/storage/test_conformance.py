"""Run the ``KeyValueStore`` conformance suite against memory, SQLite, Postgres and Redis."""

from tests.storage.conformance import *  # noqa: F403
