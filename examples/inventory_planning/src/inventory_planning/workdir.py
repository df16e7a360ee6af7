"""Where the example keeps its files, and the data environment that points at them.

Everything lives in one working directory (``.inventory`` by default, ``INVENTORY_PLANNING_DIR``
or ``--dir`` to choose another):

| file | what it is |
|---|---|
| ``inventory.db`` | the target database agents query (read-only to them) |
| ``planning.db`` | the planning platform approved plans write to |
| ``catalog.db`` | the catalog the data commands fill (profiling, knowledge) |
| ``kv.db`` | runtime state: references, plans, knowledge document bodies |
| ``catalog-index/`` | the Tantivy search index over the catalog |
| ``data-environment.json`` | the file ``flowai-harness --data-environment`` reads |
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DATABASE_ID", "TENANT", "WorkDir", "default_dir"]

#: the runtime tenant, also the data environment's ``tenant_id`` (the CLI's default scope)
TENANT = "inventory-planning"
#: the logical id of the target database in the catalog (reuse it in every data command)
DATABASE_ID = "inventory"


def default_dir() -> Path:
    """``INVENTORY_PLANNING_DIR`` or ``.inventory`` under the current directory."""
    return Path(os.environ.get("INVENTORY_PLANNING_DIR", ".inventory"))


@dataclass(frozen=True)
class WorkDir:
    """The example's working directory and the files in it."""

    root: Path

    @classmethod
    def at(cls, root: str | Path | None = None) -> WorkDir:
        """The working directory at ``root`` (default :func:`default_dir`), as an absolute path."""
        return cls(Path(root if root is not None else default_dir()).resolve())

    @property
    def target_db(self) -> Path:
        """The inventory database agents read."""
        return self.root / "inventory.db"

    @property
    def planning_db(self) -> Path:
        """The planning platform database approved plans write to."""
        return self.root / "planning.db"

    @property
    def environment_file(self) -> Path:
        """The data environment file for ``flowai-harness --data-environment``."""
        return self.root / "data-environment.json"

    def data_environment(self) -> dict[str, Any]:
        """The data environment: SQLite target, catalog and KV, Tantivy index, all in ``root``."""
        return {
            "tenant_id": TENANT,
            "workspace_id": "default",
            "target_database": {"kind": "sqlite", "url": f"sqlite:{self.target_db}"},
            "catalog": {"kind": "sqlite", "url": f"sqlite:{self.root / 'catalog.db'}"},
            "kv": {"kind": "sqlite", "url": f"sqlite:{self.root / 'kv.db'}"},
            "catalog_search": {"index_path": str(self.root / "catalog-index")},
        }

    def write_environment_file(self) -> Path:
        """Write :meth:`data_environment` as JSON; returns the file."""
        self.root.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.data_environment(), indent=2) + "\n"
        self.environment_file.write_text(text, encoding="utf-8")
        return self.environment_file
