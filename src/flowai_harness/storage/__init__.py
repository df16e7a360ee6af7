"""Storage adapters behind the ``KeyValueStore`` port (memory now; SQLite, Postgres, Redis)."""
