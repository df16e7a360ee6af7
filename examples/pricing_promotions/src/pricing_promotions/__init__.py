"""pricing_promotions: a pricing and promotions desk built on flowai-harness.

Modules: ``commerce`` (the SQLite back office plans write to), ``domain`` (reference and typed
plan), ``tools``, ``agents``, ``dispatcher``, ``offline_model``, ``runtime``, ``app`` (Studio),
``eval_cases`` / ``seed_eval_tests`` and ``smoke``.
"""
