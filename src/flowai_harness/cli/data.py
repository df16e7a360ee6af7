"""``flowai-harness data``: profiling, knowledge ingestion and catalog operations.

Every data command needs ``--data-environment PATH`` (global; ``.json`` is JSON, ``.toml`` is
TOML, anything else is tried as JSON then TOML) and takes the SCOPE flags ``--tenant-id`` and
``--workspace-id`` (defaults: the environment's ``tenant_id`` / ``workspace_id``, else
``flowai-runtime-data`` / ``default``)::

    data profile estimate --database-id ID [--schema S] [--table T]... [--model M] [--sample-size N]
    data profile table    --database-id ID --table T [--schema S] [--model M] [ENRICH]
    data profile database --database-id ID [--schema S] [--table T]... [--model M] [ENRICH]
    data knowledge ingest --local-dir DIR --database-id ID [--ext E]... [--extract-knowledge] ...
    data catalog export --out FILE
    data catalog graph [--format html|json] [--output-file F] [--include-columns] [--max-nodes N]
    data catalog index rebuild
    data catalog index doctor

Output follows ``--output`` (see :mod:`flowai_harness.cli.data_output`); credentials in URLs
and API keys are masked in every message. Exit codes: 0 success, 1 failure (reported after the
output), 2 usage error.
"""

from __future__ import annotations

import click

from flowai_harness.cli.app import global_options
from flowai_harness.cli.data_catalog import catalog_group
from flowai_harness.cli.data_knowledge import knowledge_group
from flowai_harness.cli.data_profile import profile_group

__all__ = ["data_group"]


@click.group(name="data")
@global_options
def data_group() -> None:
    """Profile databases, ingest knowledge and manage the catalog of a data environment."""


data_group.add_command(profile_group)
data_group.add_command(knowledge_group)
data_group.add_command(catalog_group)
