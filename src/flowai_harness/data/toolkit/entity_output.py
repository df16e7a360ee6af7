"""The ``CatalogEntity`` output shape.

``{id, kind, name, qualified_name?, description, tags[], details{}, relations[], match?,
warnings[]}``; empty arrays are omitted. ``details`` is the snake_case metadata, the kind's
summary subset or all of it; undecodable metadata gives empty details and a warning.
``relations`` (id refs) appear only for tools whose output policy is "refs". Descriptions may be
capped; the renderer counts truncations so the tool can report them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry
from flowai_harness.data.catalog.metadata import details_of, metadata_problem

__all__ = ["DESCRIPTION_CAP", "EntityRenderer", "entity_ref"]

#: Description length cap of summary outputs (search, multi-table field lists).
DESCRIPTION_CAP = 240


def entity_ref(entry: CatalogEntry) -> dict[str, Any]:
    """A compact pointer to an entity: ``{id, kind, name, qualified_name?}``."""
    out: dict[str, Any] = {"id": entry.id, "kind": entry.kind, "name": entry.name}
    if entry.qualified_name:
        out["qualified_name"] = entry.qualified_name
    return out


@dataclass(slots=True)
class EntityRenderer:
    """Renders entries as entities under one output policy."""

    full: bool = False
    description_cap: int | None = None
    with_relations: bool = False
    truncated: int = 0

    def render(
        self,
        entry: CatalogEntry,
        *,
        description: str | None = None,
        match: dict[str, Any] | None = None,
        warnings: list[str] | None = None,
    ) -> dict[str, Any]:
        """Return the entity dict of ``entry``; ``description`` overrides its ``content``."""
        text = entry.content if description is None else description
        if self.description_cap is not None and len(text) > self.description_cap:
            text = text[: self.description_cap - 1].rstrip() + "…"
            self.truncated += 1
        out = entity_ref(entry)
        out["description"] = text
        if entry.tags:
            out["tags"] = list(entry.tags)
        out["details"] = details_of(entry, full=self.full)
        if self.with_relations and entry.related:
            out["relations"] = [
                {"relation_kind": link.relation_type, "target_id": link.target_id}
                for link in entry.related
            ]
        if match is not None:
            out["match"] = match
        notes = list(warnings or [])
        problem = metadata_problem(entry)
        if problem is not None:
            notes.append(f"metadata could not be decoded ({problem}); details omitted")
        if notes:
            out["warnings"] = notes
        return out

    def warnings(self) -> list[str]:
        """The truncation warning, if any description was cut."""
        if not self.truncated:
            return []
        plural = "description was" if self.truncated == 1 else "descriptions were"
        return [f"{self.truncated} {plural} truncated to {self.description_cap} characters"]
