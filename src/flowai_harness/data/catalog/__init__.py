"""The catalog: its port and backends, entries and their metadata, relations, the search index
kept in step with it, and the exports and diagnostics of the ``data catalog`` commands."""
