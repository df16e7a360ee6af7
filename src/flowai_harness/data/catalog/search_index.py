"""The catalog search index: one Tantivy index per scope.

Layout: ``<index_path>/.agent-fw/indexes/catalog/<h(tenant)>/<h(workspace)>/`` with
``h`` = hex of the first 16 bytes of SHA-256. The scope directory holds the Tantivy files
(``index/``), ``projection.json`` (projection version and schema fingerprint) and, when the
index must be rebuilt, a ``.stale`` marker holding the reason.

Health is ``ready``, ``stale`` (marker present, or on-disk schema / projection version differs)
or ``unavailable`` (no index, or it cannot be opened). Search refuses anything but ``ready``.
A rebuild writes a fresh index beside the old one and swaps it in, under a per-scope lock held
both in-process and across processes, so readers never see a half-built index.

Tantivy is imported lazily (``pip install 'flowai-harness[search]'``). Every method here is
synchronous; async callers run them in a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flowai_harness.data.catalog.entries import CatalogEntry, normalize_key
from flowai_harness.data.catalog.projection import (
    KEYWORD_FIELDS,
    PROJECTION_VERSION,
    TEXT_FIELDS,
    EntryProjection,
    FieldClause,
)
from flowai_harness.data.catalog.store import CatalogScope
from flowai_harness.errors import MissingDependencyError, StoreError

__all__ = [
    "FACET_LIMIT",
    "CatalogSearchIndex",
    "IndexHealth",
    "IndexStatus",
    "SearchHit",
    "SearchQuery",
    "SearchWindow",
    "scope_index_dir",
]

IndexHealth = Literal["ready", "stale", "unavailable"]

#: Facets are counted over at most this many top matches.
FACET_LIMIT = 1000
_EXACT_BOOST = 20.0
_FACET_BUCKETS = 10_000  # every bucket: at most 1,000 matching documents
_MAX_KEYWORD_CHARS = 512
_FACET_FIELDS = {
    "kinds": "facet_kind",
    "schemas": "facet_schema",
    "tables": "facet_table",
    "tags": "facet_tags",
}
_STALE_MARKER = ".stale"
_MANIFEST = "projection.json"
_INDEX_DIR = "index"
_ANALYZER = "catalog_text"

_scope_locks: dict[str, threading.Lock] = {}
_scope_locks_guard = threading.Lock()


def _tantivy() -> Any:
    try:
        import tantivy
    except ImportError as exc:
        raise MissingDependencyError(
            "catalog search needs tantivy; install it with: pip install 'flowai-harness[search]'"
        ) from exc
    return tantivy


def _h(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).digest()[:16].hex()


def scope_index_dir(root: str | os.PathLike[str], scope: CatalogScope) -> Path:
    """Return the directory of ``scope``'s index under the ``index_path`` root."""
    base = Path(root).expanduser() / ".agent-fw" / "indexes" / "catalog"
    return base / _h(scope.tenant) / _h(scope.workspace)


def _schema_fields() -> list[tuple[str, str, bool, bool]]:
    """(name, tokenizer, stored, fast) of every index field, in schema order."""
    fields = [
        ("entry_id", "raw", True, False),
        ("tenant", "raw", False, False),
        ("workspace", "raw", False, False),
    ]
    fields += [(name, "raw", False, False) for name in KEYWORD_FIELDS]
    fields += [(name, _ANALYZER, False, False) for name in TEXT_FIELDS]
    fields += [(name, "raw", True, True) for name in _FACET_FIELDS.values()]
    return fields


#: Changes whenever the field layout changes; a different on-disk value means ``stale``.
SCHEMA_FINGERPRINT = hashlib.sha256(
    json.dumps(_schema_fields(), separators=(",", ":")).encode()
).hexdigest()[:32]


def _analyzer(tantivy: Any) -> Any:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _build_schema(tantivy: Any) -> Any:
    builder = tantivy.SchemaBuilder()
    for name, tokenizer, stored, fast in _schema_fields():
        option = "freq" if tokenizer == _ANALYZER else "basic"
        builder.add_text_field(
            name, stored=stored, fast=fast, tokenizer_name=tokenizer, index_option=option
        )
    return builder.build()


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """Health of a scope index, why, and how many documents it holds when ready."""

    health: IndexHealth
    reason: str | None = None
    documents: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"health", "reason", "documents"}``."""
        return {"health": self.health, "reason": self.reason, "documents": self.documents}


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A lexical query: text, optional public kinds, and exact filter clauses."""

    text: str
    kinds: tuple[str, ...] = ()
    clauses: tuple[FieldClause, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked candidate: the entry id and its BM25 score."""

    entry_id: str
    score: float


@dataclass(slots=True)
class SearchWindow:
    """One window of ranked candidates, whether more follow it, and facets when asked for."""

    hits: list[SearchHit]
    more: bool
    facets: dict[str, list[tuple[str, int]]] | None = None


@dataclass(slots=True)
class _Reader:
    index: Any
    schema: Any
    stamp: tuple[int, int]
    analyzer: Any = field(repr=False, default=None)


class CatalogSearchIndex:
    """The search index of one scope under an ``index_path`` root.

    Raises:
        MissingDependencyError: tantivy (the ``search`` extra) is not installed. Checked here,
            so a data environment with ``catalog_search`` fails when it is opened, not after a
            profiling run has written every table.
    """

    def __init__(self, root: str | os.PathLike[str], scope: CatalogScope) -> None:
        _tantivy()
        self.root = Path(root).expanduser()
        self.scope = scope
        self.path = scope_index_dir(self.root, scope)
        self._reader: _Reader | None = None
        self._reader_lock = threading.Lock()
        self._analyzer: Any = None

    # ----------------------------------------------------------------- health

    def _manifest_stamp(self) -> tuple[int, int] | None:
        try:
            stat = (self.path / _MANIFEST).stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_ino)

    def status(self) -> IndexStatus:
        """Return the health of the index (``ready``, ``stale`` or ``unavailable``)."""
        tantivy = _tantivy()
        index_dir = self.path / _INDEX_DIR
        try:
            exists = index_dir.is_dir() and bool(tantivy.Index.exists(str(index_dir)))
        except (OSError, ValueError):
            exists = False
        if not exists:
            return IndexStatus("unavailable", f"no catalog search index at {self.path}")
        marker = self.path / _STALE_MARKER
        if marker.exists():
            reason = marker.read_text(encoding="utf-8", errors="replace").strip()
            return IndexStatus("stale", reason or "index marked stale")
        try:
            manifest = json.loads((self.path / _MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return IndexStatus("stale", "index projection manifest is missing or unreadable")
        version = manifest.get("projectionVersion")
        if version != PROJECTION_VERSION:
            return IndexStatus("stale", f"projection version {version} != {PROJECTION_VERSION}")
        if manifest.get("schemaFingerprint") != SCHEMA_FINGERPRINT:
            return IndexStatus("stale", "on-disk index schema differs from the current schema")
        if (manifest.get("tenant"), manifest.get("workspace")) != (
            self.scope.tenant,
            self.scope.workspace,
        ):
            return IndexStatus("unavailable", f"the index at {self.path} belongs to another scope")
        try:
            reader = self._open_reader()
        except StoreError as exc:
            return IndexStatus("unavailable", str(exc))
        return IndexStatus("ready", None, int(reader.index.searcher().num_docs))

    def mark_stale(self, reason: str) -> None:
        """Write the ``.stale`` marker; search refuses until the index is rebuilt."""
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / _STALE_MARKER).write_text(reason + "\n", encoding="utf-8")

    # ----------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        key = str(self.path)
        with _scope_locks_guard:
            lock = _scope_locks.setdefault(key, threading.Lock())
        self.path.mkdir(parents=True, exist_ok=True)
        with lock, open(self.path / ".write.lock", "a+b") as handle:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: in-process lock only
                yield
                return
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _document(self, tantivy: Any, entry: CatalogEntry, projection: EntryProjection) -> Any:
        doc = tantivy.Document()
        doc.add_text("entry_id", entry.id)
        doc.add_text("tenant", self.scope.tenant)
        doc.add_text("workspace", self.scope.workspace)
        for name, values in projection.keywords.items():
            for value in values:
                doc.add_text(name, value[:_MAX_KEYWORD_CHARS])
        for name, text in projection.texts.items():
            doc.add_text(name, text)
        doc.add_text("facet_kind", entry.kind)
        meta = entry.metadata
        for key, facet in (("schemaName", "facet_schema"), ("tableName", "facet_table")):
            raw = meta.get(key)
            if isinstance(raw, str) and raw.strip():
                doc.add_text(facet, raw.strip()[:_MAX_KEYWORD_CHARS])
        for tag in entry.tags:
            doc.add_text("facet_tags", tag[:_MAX_KEYWORD_CHARS])
        return doc

    def rebuild(self, documents: Iterable[tuple[CatalogEntry, EntryProjection]]) -> int:
        """Replace the index with ``documents``; clear the stale marker; return the count.

        Raises:
            StoreError: Tantivy failed to write the index.
        """
        tantivy = _tantivy()
        with self._write_lock():
            for leftover in self.path.glob(f"{_INDEX_DIR}.*-*"):  # from an interrupted rebuild
                shutil.rmtree(leftover, ignore_errors=True)
            fresh = self.path / f"{_INDEX_DIR}.new-{uuid.uuid4().hex}"
            fresh.mkdir(parents=True)
            count = 0
            try:
                index = tantivy.Index(_build_schema(tantivy), str(fresh), reuse=False)
                index.register_tokenizer(_ANALYZER, _analyzer(tantivy))
                writer = index.writer(heap_size=64_000_000)
                for entry, projection in documents:
                    writer.add_document(self._document(tantivy, entry, projection))
                    count += 1
                writer.commit()
                writer.wait_merging_threads()
            except Exception as exc:
                shutil.rmtree(fresh, ignore_errors=True)
                raise StoreError(
                    f"catalog search index rebuild failed at {self.path}: {exc}"
                ) from exc
            current = self.path / _INDEX_DIR
            retired = self.path / f"{_INDEX_DIR}.old-{uuid.uuid4().hex}"
            if current.exists():
                current.rename(retired)
            fresh.rename(current)
            shutil.rmtree(retired, ignore_errors=True)
            manifest = {
                "projectionVersion": PROJECTION_VERSION,
                "schemaFingerprint": SCHEMA_FINGERPRINT,
                "generation": uuid.uuid4().hex,
                "tenant": self.scope.tenant,
                "workspace": self.scope.workspace,
            }
            temp = self.path / f"{_MANIFEST}.tmp"
            temp.write_text(json.dumps(manifest), encoding="utf-8")
            temp.replace(self.path / _MANIFEST)
            (self.path / _STALE_MARKER).unlink(missing_ok=True)
        with self._reader_lock:
            self._reader = None
        return count

    def apply(
        self,
        upserts: Sequence[tuple[CatalogEntry, EntryProjection]],
        deletes: Sequence[str] = (),
    ) -> None:
        """Write-through: replace the documents of ``upserts`` and remove ``deletes`` by id.

        Raises:
            StoreError: The index is not ``ready`` or Tantivy failed.
        """
        tantivy = _tantivy()
        with self._write_lock():
            status = self.status()
            if status.health != "ready":
                raise StoreError(
                    f"Catalog search index is {status.health}: {status.reason}; rebuild it"
                )
            reader = self._open_reader()
            try:
                writer = reader.index.writer(heap_size=15_000_000, num_threads=1)
                for entry_id in [*deletes, *(entry.id for entry, _ in upserts)]:
                    writer.delete_documents_by_term("entry_id", entry_id)
                for entry, projection in upserts:
                    writer.add_document(self._document(tantivy, entry, projection))
                writer.commit()
                writer.wait_merging_threads()
                reader.index.reload()
            except Exception as exc:
                raise StoreError(
                    f"catalog search index update failed at {self.path}: {exc}"
                ) from exc

    # ----------------------------------------------------------------- reading

    def _open_reader(self) -> _Reader:
        stamp = self._manifest_stamp() or (0, 0)
        with self._reader_lock:
            if self._reader is not None and self._reader.stamp == stamp:
                return self._reader
            tantivy = _tantivy()
            try:
                index = tantivy.Index.open(str(self.path / _INDEX_DIR))
                index.register_tokenizer(_ANALYZER, _analyzer(tantivy))
            except Exception as exc:
                raise StoreError(f"cannot open catalog search index at {self.path}: {exc}") from exc
            self._reader = _Reader(index, index.schema, stamp, _analyzer(tantivy))
            return self._reader

    def analyze(self, text: str) -> list[str]:
        """Return the analysed tokens of ``text`` (the same analysis the index applies)."""
        if self._analyzer is None:
            self._analyzer = _analyzer(_tantivy())
        return list(self._analyzer.analyze(text))

    def _compile(self, reader: _Reader, query: SearchQuery) -> Any:
        tantivy = _tantivy()
        q, occur, schema = tantivy.Query, tantivy.Occur, reader.schema
        text_clauses = [
            (occur.Should, q.boost_query(q.term_query(schema, name, token), boost))
            for token in dict.fromkeys(reader.analyzer.analyze(query.text))
            for name, boost in TEXT_FIELDS.items()
        ]
        exact = normalize_key(query.text)[:_MAX_KEYWORD_CHARS]
        text_clauses += [
            (occur.Should, q.boost_query(q.term_query(schema, name, exact), _EXACT_BOOST))
            for name in ("id", "name", "qualified_name", "enum_value")
        ]
        # The scope is not a query clause: each scope has its own index directory, and status()
        # checks that the directory's manifest names this scope. Intersecting every query with
        # two match-all terms would cost Tantivy its top-k pruning (about 3x the latency).
        text = q.boolean_query(text_clauses)
        must = [(occur.Must, text)]
        if query.kinds:
            must.append((occur.Must, q.term_set_query(schema, "kind", list(query.kinds))))
        for clause in query.clauses:
            values = [v[:_MAX_KEYWORD_CHARS] for v in clause.values]
            must.append((occur.Must, q.term_set_query(schema, clause.field, values)))
        return text if len(must) == 1 else q.boolean_query(must)

    def search(
        self, query: SearchQuery, *, offset: int, limit: int, facets: bool = False
    ) -> SearchWindow:
        """Return ranked candidates ``offset .. offset+limit`` (score desc, then id).

        Raises:
            StoreError: The index is not ``ready``.
        """
        status = self.status()
        if status.health != "ready":
            raise StoreError(
                f"Catalog search index is {status.health}: {status.reason}. Rebuild or attach "
                "the catalog search index before retrying search_catalog "
                "(flowai-harness data catalog index rebuild, or set "
                "data_environment.catalog_search.rebuild_on_start)."
            )
        reader = self._open_reader()
        compiled = self._compile(reader, query)
        searcher = reader.index.searcher()
        # One extra hit says whether more follow; counting every match would disable pruning.
        result = searcher.search(compiled, limit=max(limit, 1) + 1, offset=offset, count=False)
        hits = [
            SearchHit(str(searcher.doc(address)["entry_id"][0]), float(score))
            for score, address in result.hits
        ]
        more = len(hits) > limit
        hits = sorted(hits[:limit], key=lambda hit: (-hit.score, hit.entry_id))
        window = SearchWindow(hits=hits, more=more)
        if facets:
            window.facets = self._facets(searcher, compiled)
        return window

    def _facets(self, searcher: Any, compiled: Any) -> dict[str, list[tuple[str, int]]]:
        """Facet counts over the top ``FACET_LIMIT`` matches.

        When the query matches at most ``FACET_LIMIT`` entries (one cheap hits-only search
        tells), a terms aggregation on the fast fields counts them all, which *is* the top-1,000
        answer. Broader queries read the stored facet values of their top 1,000 hits.
        """
        top = searcher.search(compiled, limit=FACET_LIMIT + 1, count=False).hits
        if len(top) <= FACET_LIMIT:
            request = {
                name: {"terms": {"field": field, "size": _FACET_BUCKETS}}
                for name, field in _FACET_FIELDS.items()
            }
            aggregated = searcher.aggregate(compiled, request)
            return {
                name: _ordered(
                    (str(b["key"]), int(b["doc_count"]))
                    for b in (aggregated.get(name) or {}).get("buckets", [])
                )
                for name in _FACET_FIELDS
            }
        counts: dict[str, dict[str, int]] = {name: {} for name in _FACET_FIELDS}
        for _score, address in top[:FACET_LIMIT]:
            doc = searcher.doc(address)
            for name, stored in _FACET_FIELDS.items():
                for value in set(doc.get_all(stored)):
                    counts[name][str(value)] = counts[name].get(str(value), 0) + 1
        return {name: _ordered(buckets.items()) for name, buckets in counts.items()}


def _ordered(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Facet values by count (descending), then value."""
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
