"""The Connect screen's data routes: catalog search (src/flowai_harness/studio/data_search.py)
counts every match, not the page, and offers only the modes the index really has; a table's
columns carry what profiling found about them (workspace_data.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flowai_harness.studio import define_app

from .studio_apps import chat_spec, data_environment, studio_client

D = "/api/workspaces/default/data"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    env = data_environment(tmp_path)
    env["catalog_search"]["rebuild_on_start"] = True
    app = define_app(name="search-test", runtime_spec=chat_spec(), data_environment=env)
    with studio_client(app) as client:
        # Profiling fills the catalog (tables and their columns) and its index.
        assert client.post(f"{D}/profile/database", json={}).status_code == 200
        yield client


def _search(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post(f"{D}/search", json={"query": "orders", **body})
    assert response.status_code == 200, response.text
    found: dict[str, object] = response.json()["search"]
    return found


def test_total_count_counts_every_match_not_the_page(client: TestClient) -> None:
    everything = _search(client, limit=20)
    page = _search(client, limit=1)
    assert everything["hasMore"] is False
    assert everything["totalCount"] == len(everything["items"]) > 1  # type: ignore[arg-type]
    assert page["hasMore"] is True and len(page["items"]) == 1  # type: ignore[arg-type]
    assert page["totalCount"] == everything["totalCount"]


def test_a_mode_picks_kinds_and_an_unknown_mode_is_refused(client: TestClient) -> None:
    tables = _search(client, mode="tables")
    columns = _search(client, mode="columns")
    semantic = client.post(f"{D}/search", json={"query": "orders", "mode": "semantic"})
    assert {item["kind"] for item in tables["items"]} == {"table"}  # type: ignore[attr-defined]
    assert {item["kind"] for item in columns["items"]} == {"column"}  # type: ignore[attr-defined]
    assert semantic.status_code == 400
    assert semantic.json()["error"]["message"] == (
        "Unknown search mode 'semantic'; use one of: all, tables, columns, terms."
    )


def test_after_profiling_a_table_shows_what_was_found_per_column(client: TestClient) -> None:
    table = client.get(f"{D}/discovery/tables/orders").json()["table"]
    profiles = {column["name"]: column["profile"] for column in table["columns"]}
    assert set(profiles) == {"id", "customer_id", "status", "total"}
    assert profiles["status"]["distinctCount"] == 2 and profiles["status"]["totalCount"] == 3
    assert profiles["id"]["nullCount"] == 0
    assert all(profile["description"] for profile in profiles.values())


def test_before_profiling_columns_have_no_profile(tmp_path: Path) -> None:
    app = define_app(
        name="fresh", runtime_spec=chat_spec(), data_environment=data_environment(tmp_path)
    )
    with studio_client(app) as fresh:
        table = fresh.get(f"{D}/discovery/tables/orders").json()["table"]
    assert [column["profile"] for column in table["columns"]] == [None] * 4
