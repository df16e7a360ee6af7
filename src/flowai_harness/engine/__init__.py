"""The runtime core: turn loop, tool dispatch, routing, approvals, plans, references, events.

Depends only on the authoring layer (``specs``) and the ports; adapters are chosen by
``flowai_harness.assemble``.
"""
