"""Relation diagnostics of a catalog scope, for ``data catalog index doctor``.

Every link (``related`` item) and every relationship entry counts as a relation. Issues:

* ``missing_target``: a link, or a relationship's ``targetTableId``, names no entry;
* ``missing_source``: a relationship's ``sourceTableId`` names no entry;
* ``invalid_relationship_metadata``: a relationship entry's metadata cannot be decoded;
* ``relationship_target_database_mismatch``: a relationship's target table belongs to another
  database id than the relationship;
* ``relation_endpoint_database_mismatch``: a link joins two entries of different database ids.

The first two count as orphaned relations, the last two as database mismatches. Such links
usually come from profiling or ingesting with different ``--database-id`` values; re-profile or
re-ingest with the right one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowai_harness.data.catalog.metadata import metadata_problem, text_of
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore

__all__ = ["RelationDiagnostics", "RelationIssue", "diagnose_relations"]

_PAGE = 2_000
_ORPHANED = frozenset({"missing_source", "missing_target"})
_MISMATCHED = frozenset(
    {"relationship_target_database_mismatch", "relation_endpoint_database_mismatch"}
)


@dataclass(frozen=True, slots=True)
class RelationIssue:
    """One problematic relation."""

    source_id: str
    target_id: str
    relation_kind: str
    issue: str

    def to_dict(self) -> dict[str, str]:
        """``{sourceId, targetId, relationKind, issue}``."""
        return {
            "sourceId": self.source_id,
            "targetId": self.target_id,
            "relationKind": self.relation_kind,
            "issue": self.issue,
        }


@dataclass(slots=True)
class RelationDiagnostics:
    """Counts of relations and their problems, with up to ``max_samples`` examples."""

    total_relations: int = 0
    orphaned_relations: int = 0
    database_mismatched_relations: int = 0
    invalid_relationships: int = 0
    samples: list[RelationIssue] = field(default_factory=list)
    max_samples: int = 20

    def record(self, issue: RelationIssue) -> None:
        """Count an issue and keep it as a sample while there is room."""
        if issue.issue in _ORPHANED:
            self.orphaned_relations += 1
        elif issue.issue in _MISMATCHED:
            self.database_mismatched_relations += 1
        else:
            self.invalid_relationships += 1
        if len(self.samples) < self.max_samples:
            self.samples.append(issue)

    def to_dict(self) -> dict[str, Any]:
        """``{totalRelations, orphanedRelations, databaseMismatchedRelations,
        invalidRelationships, samples}``."""
        return {
            "totalRelations": self.total_relations,
            "orphanedRelations": self.orphaned_relations,
            "databaseMismatchedRelations": self.database_mismatched_relations,
            "invalidRelationships": self.invalid_relationships,
            "samples": [sample.to_dict() for sample in self.samples],
        }


async def diagnose_relations(
    catalog: CatalogStore, scope: CatalogScope, *, max_samples: int = 20
) -> RelationDiagnostics:
    """Check every relation of ``scope`` (see the module doc for the issues).

    Raises:
        StoreError: The catalog could not be read.
    """
    databases: dict[str, str | None] = {}
    links: list[tuple[str, str, str]] = []
    relationships: list[tuple[str, str | None, str | None, str | None, str | None]] = []
    after: str | None = None
    while True:
        page = await catalog.list_entries(scope, after_id=after, limit=_PAGE)
        for entry in page:
            databases[entry.id] = text_of(entry.metadata, "databaseId")
            links += [(entry.id, link.target_id, link.relation_type) for link in entry.related]
            if entry.item_type == "relationship":
                meta = entry.metadata
                problem = metadata_problem(entry)
                relationships.append(
                    (
                        entry.id,
                        problem,
                        text_of(meta, "sourceTableId"),
                        text_of(meta, "targetTableId"),
                        text_of(meta, "databaseId"),
                    )
                )
        if len(page) < _PAGE:
            break
        after = page[-1].id
    report = RelationDiagnostics(max_samples=max_samples)
    for source, target, kind in links:
        report.total_relations += 1
        if target not in databases:
            report.record(RelationIssue(source, target, kind, "missing_target"))
            continue
        ends = databases[source], databases[target]
        if ends[0] and ends[1] and ends[0] != ends[1]:
            report.record(
                RelationIssue(source, target, kind, "relation_endpoint_database_mismatch")
            )
    for entry_id, problem, source_table, target_table, database in relationships:
        report.total_relations += 1
        if problem is not None:
            report.record(
                RelationIssue(
                    entry_id, target_table or "", "relationship", "invalid_relationship_metadata"
                )
            )
            continue
        if source_table not in databases:
            report.record(
                RelationIssue(entry_id, source_table or "", "relationship", "missing_source")
            )
        if target_table not in databases:
            report.record(
                RelationIssue(entry_id, target_table or "", "relationship", "missing_target")
            )
        elif database and databases[str(target_table)] not in (None, database):
            report.record(
                RelationIssue(
                    entry_id,
                    str(target_table),
                    "relationship",
                    "relationship_target_database_mismatch",
                )
            )
    return report
