"""Knowledge ingestion (src/flowai_harness/data/knowledge/): files, KV layout, dedupe,
extraction and the catalog projection."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.data.catalog.entries import generated_id
from flowai_harness.data.environment import DataBackends
from flowai_harness.data.knowledge.extraction import KnowledgeExtractor, normalize_items
from flowai_harness.data.knowledge.files import (
    MAX_DOCUMENT_BYTES,
    KnowledgeFile,
    read_text_file,
    resolve_inside,
    scan_folder,
)
from flowai_harness.data.knowledge.ingestion import IngestRequest, KnowledgeIngestor
from flowai_harness.data.profiling.enrichment import FallbackEnricher
from flowai_harness.data.profiling.profiler import Profiler, ProfileRequest
from flowai_harness.data.profiling.schema import open_schema_reader
from flowai_harness.errors import DataEnvironmentError, ProviderError, SpecValueError
from flowai_harness.ports import ModelClient, ModelFinish, ModelPart, ModelRequest, ModelText
from flowai_harness.providers.factory import provider_client
from flowai_harness.storage.memory import MemoryKeyValueStore
from tests.data.sample_catalog import create_target_database
from tests.providers.fakes.anthropic_server import FakeAnthropic, anthropic_error, anthropic_reply

DB = "shop"
SECRET_KEY = "sk-test-SECRET-knowledge-0123456789"


def doc_id(text: str) -> str:
    return "doc-" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "policies").mkdir(parents=True)
    (root / "refunds.md").write_text("Refunds within 30 days.", encoding="utf-8")
    (root / "policies" / "shipping.md").write_text("Ships in 2 days.", encoding="utf-8")
    (root / "policies" / "notes.txt").write_text("Status open means unpaid.", encoding="utf-8")
    return root


@pytest.fixture
def shop_env(tmp_path: Path) -> dict[str, Any]:
    return {
        "catalog": {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'catalog.db'}"},
        "targetDatabase": {
            "kind": "sqlite",
            "url": str(create_target_database(tmp_path / "target.db")),
        },
    }


@pytest.fixture
async def backends(shop_env: dict[str, Any]) -> AsyncIterator[DataBackends]:
    data = DataBackends(shop_env, "acme")
    try:
        yield data
    finally:
        await data.aclose()


async def ingest(
    backends: DataBackends, kv: MemoryKeyValueStore, folder: Path, **kwargs: Any
) -> list[dict[str, Any]]:
    extractor = kwargs.pop("extractor", None)
    ingestor = KnowledgeIngestor(backends, kv, extractor=extractor)
    return [event async for event in ingestor.run(IngestRequest(folder, DB, **kwargs))]


# ------------------------------------------------------------------------------- files


def test_the_walk_is_recursive_sorted_and_filtered(folder: Path) -> None:
    (folder / ".hidden.md").write_text("x", encoding="utf-8")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("x", encoding="utf-8")
    scan = scan_folder(folder)
    assert [f.relative for f in scan.files] == [
        "policies/notes.txt",
        "policies/shipping.md",
        "refunds.md",
    ]
    assert [f.relative for f in scan_folder(folder, ["md"]).files] == [
        "policies/shipping.md",
        "refunds.md",
    ]


def test_links_leaving_the_folder_are_refused(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.md"
    outside.write_text("top secret", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.md").write_text("x", encoding="utf-8")
    (folder / "escape.md").symlink_to(Path("..") / "secret.md")
    (folder / "absolute.md").symlink_to(outside)
    (folder / "away").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (folder / "inside.md").symlink_to(folder / "refunds.md")
    scan = scan_folder(folder)
    assert sorted(p.relative for p in scan.refused) == ["absolute.md", "away", "escape.md"]
    assert all(p.kind == "outside_folder" for p in scan.refused)
    assert "inside.md" in [f.relative for f in scan.files]
    assert all("top secret" not in f.path.read_text(encoding="utf-8") for f in scan.files)


def test_dot_dot_paths_cannot_leave_the_folder(folder: Path) -> None:
    root = folder.resolve()
    with pytest.raises(SpecValueError, match="resolves outside the folder"):
        resolve_inside(root, "../outside.md")
    with pytest.raises(SpecValueError, match="resolves outside the folder"):
        resolve_inside(root, "policies/../../x")
    assert resolve_inside(root, "policies/../refunds.md") == root / "refunds.md"


def test_a_file_swapped_for_an_outside_link_after_the_walk_is_not_read(
    folder: Path, tmp_path: Path
) -> None:
    scan = scan_folder(folder)
    target = next(f for f in scan.files if f.relative == "refunds.md")
    (tmp_path / "secret.md").write_text("top secret", encoding="utf-8")
    os.remove(folder / "refunds.md")
    (folder / "refunds.md").symlink_to(tmp_path / "secret.md")
    problem = read_text_file(target, scan.root)
    assert not isinstance(problem, tuple)
    assert problem.kind == "outside_folder"


def test_missing_and_non_directory_folders_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecValueError, match="does not exist"):
        scan_folder(tmp_path / "nope")
    (tmp_path / "file.md").write_text("x", encoding="utf-8")
    with pytest.raises(SpecValueError, match="is not a directory"):
        scan_folder(tmp_path / "file.md")


@pytest.mark.parametrize(
    ("ext", "message"),
    [(".md", "without its dot"), ("", "must not be blank"), ("a/b", "file extension")],
)
def test_bad_extensions_are_refused(folder: Path, ext: str, message: str) -> None:
    with pytest.raises(SpecValueError, match=message):
        IngestRequest(folder, DB, (ext,))


def test_blank_database_ids_are_refused(folder: Path) -> None:
    with pytest.raises(SpecValueError, match="knowledge ingestion database_id must not be blank"):
        IngestRequest(folder, " ")


def test_oversized_files_are_reported(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as stream:
        stream.truncate(MAX_DOCUMENT_BYTES + 1)
    problem = read_text_file(KnowledgeFile("big.md", big), tmp_path.resolve())
    assert not isinstance(problem, tuple) and problem.kind == "too_large"


# ------------------------------------------------------------------------------ ingest


async def test_one_document_per_file_in_the_kv_layout(backends: DataBackends, folder: Path) -> None:
    kv = MemoryKeyValueStore()
    events = await ingest(backends, kv, folder)
    assert events[0] == {"type": "discovered", "total": 3}
    assert [e["name"] for e in events if e["type"] == "ingesting"] == [
        "policies/notes.txt",
        "policies/shipping.md",
        "refunds.md",
    ]
    done = events[-1]
    assert done["type"] == "completed"
    assert (done["scanned"], done["new"], done["skippedDuplicate"], done["errors"]) == (3, 3, 0, [])
    refunds = await kv.get("acme", f"data:document:{doc_id('Refunds within 30 days.')}")
    assert refunds["name"] == "refunds.md"
    assert refunds["content"] == "Refunds within 30 days."
    assert refunds["targetDatabaseId"] == DB
    assert refunds["extractionStatus"] == "pending"
    assert refunds["extractedKnowledgeIds"] == []
    assert refunds["createdAt"].endswith("Z")
    index = await kv.get("acme", "data:documents:index")
    assert index["ids"][0] == doc_id("Refunds within 30 days.")  # newest first
    hashes = await kv.get("acme", "data:knowledge:content_hashes")
    assert hashes == sorted(hashes) and len(hashes) == 3


async def test_identical_content_is_stored_once_across_runs(
    backends: DataBackends, folder: Path
) -> None:
    kv = MemoryKeyValueStore()
    (folder / "copy.md").write_text("Refunds within 30 days.", encoding="utf-8")
    first = (await ingest(backends, kv, folder))[-1]
    assert (first["new"], first["skippedDuplicate"]) == (3, 1)
    second = (await ingest(backends, kv, folder))[-1]
    assert (second["scanned"], second["new"], second["skippedDuplicate"]) == (4, 0, 4)
    assert len((await kv.get("acme", "data:documents:index"))["ids"]) == 3


async def test_a_known_hash_whose_document_vanished_is_ingested_again(
    backends: DataBackends, folder: Path
) -> None:
    kv = MemoryKeyValueStore()
    await ingest(backends, kv, folder)
    await kv.delete("acme", f"data:document:{doc_id('Ships in 2 days.')}")
    again = (await ingest(backends, kv, folder))[-1]
    assert (again["new"], again["skippedDuplicate"]) == (1, 2)


async def test_bad_files_are_reported_and_the_run_goes_on(
    backends: DataBackends, folder: Path, tmp_path: Path
) -> None:
    (folder / "image.png").write_bytes(b"\x89PNG\x00\x00binary")
    (folder / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (folder / "dangling.md").symlink_to(folder / "missing.md")
    (folder / "leak.md").symlink_to(tmp_path / "target.db")
    done = (await ingest(backends, MemoryKeyValueStore(), folder))[-1]
    assert done["type"] == "completed"
    assert done["new"] == 3
    assert {(e["path"], e["reason"]) for e in done["errors"]} == {
        ("dangling.md", "unreadable"),
        ("leak.md", "outside_folder"),
    }
    assert {(s["path"], s["reason"]) for s in done["skipped"]} == {
        ("image.png", "binary"),
        ("latin1.txt", "not_utf8"),
    }


async def test_documents_are_projected_into_the_catalog(
    backends: DataBackends, folder: Path
) -> None:
    kv = MemoryKeyValueStore()
    done = (await ingest(backends, kv, folder, extensions=("md",)))[-1]
    assert done["documentsProjected"] == 2
    assert backends.catalog is not None
    documents = await backends.catalog.list_entries(backends.scope, ["document"])
    refunds = next(d for d in documents if d.name == "refunds.md")
    source = doc_id("Refunds within 30 days.")
    assert refunds.id == generated_id("document", "knowledge:acme:default", source)
    assert refunds.content == ""
    assert refunds.metadata["sourceDocumentId"] == source
    assert refunds.metadata["contentAvailable"] is True
    assert refunds.metadata["contentSource"] == "kv"
    assert refunds.metadata["extractionStatus"] == "pending"


async def test_without_a_catalog_ingestion_is_kv_only(folder: Path) -> None:
    kv = MemoryKeyValueStore()
    done = (await ingest(DataBackends(None, "acme"), kv, folder))[-1]
    assert (done["new"], done["documentsProjected"]) == (3, 0)


def test_a_read_only_catalog_is_refused(folder: Path) -> None:
    backends = DataBackends({"catalog": {"kind": "inline", "entries": []}}, "acme")
    with pytest.raises(DataEnvironmentError, match="kind=inline is read-only"):
        KnowledgeIngestor(backends, MemoryKeyValueStore())


async def test_workspaces_keep_their_documents_apart(folder: Path) -> None:
    kv = MemoryKeyValueStore()
    await ingest(DataBackends(None, "acme", workspace="north"), kv, folder)
    key = "acme::workspace:north"
    assert len((await kv.get(key, "data:documents:index"))["ids"]) == 3
    assert await kv.get("acme", "data:documents:index") is None


# -------------------------------------------------------------------------- extraction


class FakeExtractor:
    """Returns fixed items, or fails for documents whose text contains ``fail``."""

    def __init__(self, scope_tables: list[str]) -> None:
        self.scope_tables = scope_tables
        self.calls = 0

    async def extract(self, document_id: str, name: str, content: str) -> list[dict[str, Any]]:
        self.calls += 1
        if "fail" in content:
            raise ProviderError("model unavailable")
        raw = [
            {
                "name": f"rule from {name}",
                "description": content,
                "knowledgeType": "business_rule",
                "scopeTables": self.scope_tables,
                "scopeColumns": ["orders.status"],
            }
        ]
        return normalize_items(raw, document_id, {"orders": ["status"], "customers": []})


async def _profile(backends: DataBackends, env: dict[str, Any], database_id: str = DB) -> None:
    assert backends.target is not None
    profiler = Profiler(backends, open_schema_reader(env, backends.target), FallbackEnricher())
    async for _ in profiler.run(ProfileRequest(database_id)):
        pass


async def test_extracted_items_link_to_documents_and_profiled_tables(
    backends: DataBackends, shop_env: dict[str, Any], folder: Path
) -> None:
    await _profile(backends, shop_env)
    kv = MemoryKeyValueStore()
    extractor = FakeExtractor(["orders", "main.customers"])
    done = (await ingest(backends, kv, folder, extensions=("md",), extractor=extractor))[-1]
    assert done["type"] == "completed", done
    assert done["knowledgeItemsExtracted"] == 2
    source = doc_id("Refunds within 30 days.")
    stored = await kv.get("acme", f"data:document:{source}")
    assert stored["extractionStatus"] == "processed"
    item = await kv.get("acme", f"data:knowledge:{stored['extractedKnowledgeIds'][0]}")
    assert item["knowledgeType"] == "business_rule"
    assert item["sourceDocumentId"] == source
    assert backends.catalog is not None
    knowledge = await backends.catalog.list_entries(backends.scope, ["knowledge"])
    rule = next(k for k in knowledge if k.name == "rule from refunds.md")
    links = {(link.relation_type, link.target_id) for link in rule.related}
    assert ("extracted_from", generated_id("document", "knowledge:acme:default", source)) in links
    assert ("knowledge_applies_to", generated_id("table", DB, "main", "orders")) in links
    assert ("knowledge_applies_to", generated_id("table", DB, "main", "customers")) in links
    assert (
        "knowledge_applies_to",
        generated_id("column", DB, "main", "orders", "status"),
    ) in links
    assert "[KNOWLEDGE_TYPE:business_rule]" in rule.tags
    again = (await ingest(backends, kv, folder, extensions=("md",), extractor=extractor))[-1]
    assert again["skippedDuplicate"] == 2 and extractor.calls == 2


async def test_a_failed_extraction_rolls_the_document_back(
    backends: DataBackends, shop_env: dict[str, Any], folder: Path
) -> None:
    await _profile(backends, shop_env)
    (folder / "broken.md").write_text("this will fail", encoding="utf-8")
    kv = MemoryKeyValueStore()
    done = (await ingest(backends, kv, folder, extractor=FakeExtractor(["orders"])))[-1]
    assert done["type"] == "completed"
    assert done["errors"] == [
        {"path": "broken.md", "reason": "extraction_failed", "error": "model unavailable"}
    ]
    assert await kv.get("acme", f"data:document:{doc_id('this will fail')}") is None
    hashes = await kv.get("acme", "data:knowledge:content_hashes")
    assert hashlib.sha256(b"this will fail").hexdigest() not in hashes


async def test_scope_targets_missing_from_the_catalog_fail_the_projection(
    backends: DataBackends, shop_env: dict[str, Any], folder: Path
) -> None:
    await _profile(backends, shop_env, database_id="another-db")
    kv = MemoryKeyValueStore()
    events = await ingest(
        backends, kv, folder, extensions=("md",), extractor=FakeExtractor(["orders"])
    )
    assert events[-1]["type"] == "error"
    assert events[-1]["message"].startswith(
        "knowledge catalog projection found scope targets outside database_id 'shop'"
    )
    # the KV writes happened before the projection failed
    assert len((await kv.get("acme", "data:documents:index"))["ids"]) == 2


async def test_unresolvable_scope_targets_are_reported_as_missing(
    backends: DataBackends, folder: Path
) -> None:
    kv = MemoryKeyValueStore()
    events = await ingest(
        backends, kv, folder, extensions=("md",), extractor=FakeExtractor(["orders"])
    )
    assert events[-1]["type"] == "error"
    assert "found missing scope targets for database_id 'shop'" in events[-1]["message"]


def test_extracted_items_keep_only_real_scope_names() -> None:
    items = normalize_items(
        [
            {
                "name": " r ",
                "knowledgeType": "weird",
                "scopeTables": ["main.orders", "ghost"],
                "scopeColumns": ["orders.status", "orders.ghost", "status"],
                "synonyms": ["x", 1],
            },
            {"name": ""},
            "junk",
        ],
        "doc-1",
        {"orders": ["status"]},
    )
    assert len(items) == 1
    item = items[0]
    assert item["name"] == "r"
    assert item["knowledgeType"] == "custom"
    assert item["scopeTables"] == ["orders"]
    assert item["scopeColumns"] == ["orders.status"]
    assert item["synonyms"] == ["x"]
    assert item["id"].startswith("knowledge-")


def _anthropic(base_url: str) -> ModelClient:
    """The live Anthropic client the CLI builds for extraction, pointed at the fake API."""
    return provider_client("anthropic", {"apiKey": SECRET_KEY, "baseUrl": base_url})


async def test_the_model_extractor_reads_items_from_a_claude_answer() -> None:
    answer = (
        '{"items": [{"name": "open", "description": "Unpaid", "knowledgeType": "terminology"}]}'
    )
    async with FakeAnthropic() as server:
        server.queue(anthropic_reply(text=answer))
        extractor = KnowledgeExtractor(_anthropic(server.url), "m", {"orders": ["status"]})
        items = await extractor.extract("doc-1", "a.md", "Open means unpaid.")
        [body] = server.message_bodies
    assert [i["name"] for i in items] == ["open"]
    assert body["model"] == "m" and "tools" not in body
    prompt = body["messages"][0]["content"][0]["text"]
    assert '"orders": ["status"]' in prompt and "Open means unpaid." in prompt


async def test_ingestion_records_a_failed_model_call_per_document_without_the_key(
    backends: DataBackends, folder: Path
) -> None:
    kv = MemoryKeyValueStore()
    async with FakeAnthropic() as server:
        server.queue(*[anthropic_error(400, "invalid_request_error", f"bad {SECRET_KEY}")] * 3)
        extractor = KnowledgeExtractor(_anthropic(server.url), "m", {"orders": ["status"]})
        events = await ingest(backends, kv, folder, extractor=extractor)
    done = events[-1]
    assert done["type"] == "completed" and done["new"] == 0
    assert {e["reason"] for e in done["errors"]} == {"extraction_failed"}
    assert all("HTTP 400" in e["error"] for e in done["errors"])
    assert SECRET_KEY not in repr(events)


class _NotJson:
    """A model client answering in prose (the deterministic interpreters do)."""

    live = False

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        yield ModelText("I cannot help with that.")
        yield ModelFinish("stop")


async def test_an_answer_without_a_json_object_fails_the_document() -> None:
    extractor = KnowledgeExtractor(_NotJson(), "m", {"orders": ["status"]})
    with pytest.raises(ProviderError, match="the model's answer was not usable"):
        await extractor.extract("doc-1", "a.md", "Open means unpaid.")
