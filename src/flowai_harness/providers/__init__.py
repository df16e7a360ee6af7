"""Model clients behind the ``ModelClient`` port: deterministic interpreters and live providers."""
