"""How a ``Runtime`` serves an agent's tools over MCP (internal).

``Runtime.list_mcp_tools``, ``serve_mcp_stdio`` and ``serve_mcp_http`` delegate to
:mod:`~flowai_harness._mcp_serving.runtime_methods`; the SDK-facing modules (``server``,
``stdio``, ``http``) load on the first serve call. :mod:`~flowai_harness._mcp_serving.exposure`
holds the network-exposure rules the Studio server shares.

This package sits below the handle, apart from the public :mod:`flowai_harness.mcp`: that
facade also offers ``create_mcp_runtime``, which builds a runtime with ``create_runtime``, and
so imports the assembly that imports the handle. Kept in one package, the handle would import
the package that imports the handle (an import cycle).
"""
