"""inventory_planning: inventory scenario planning on a flowai-harness data environment.

Modules: ``workdir`` (files and data environment), ``seed_db`` (the generated inventory
database), ``stock`` (read-only stock arithmetic), ``domain`` (reference and typed plan),
``tools``, ``agents``, ``planning_platform`` and ``dispatcher`` (where approved plans land),
``offline_model``, ``runtime``, ``app`` (Studio) and ``smoke``.
"""
