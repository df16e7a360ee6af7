"""The authoring layer (L0): frozen pydantic specs, ``define_*`` helpers and schema tools.

Pure: no I/O, and imports only the standard library, pydantic and ``flowai_harness.errors``.
"""
