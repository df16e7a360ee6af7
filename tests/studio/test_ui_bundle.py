"""The packaged Studio UI bundle (built from studio-ui/ into src/flowai_harness/studio/static/):
it is complete, fresh, shipped in the wheel, and served compressed with the right cache rules
(src/flowai_harness/studio/routes/ui.py)."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from flowai_harness.studio.routes.ui import PACKAGED_UI_DIR

from .studio_apps import chat_app, studio_client

REPO = Path(__file__).resolve().parents[2]
UI_SOURCES = REPO / "studio-ui"
# Must match SOURCE_ROOTS / NOT_SOURCES in studio-ui/build/bundle-plugin.ts.
SOURCE_ROOTS = ["src", "public", "index.html", "package-lock.json", "vite.config.ts", "build"]
NOT_SOURCES = re.compile(r"(\.test\.tsx?$)|(^src/test/)")
IMMUTABLE = "public, max-age=31536000, immutable"


def _source_hash(root: Path) -> str:
    paths: list[str] = []
    for entry in SOURCE_ROOTS:
        target = root / entry
        found = [target] if target.is_file() else [p for p in target.rglob("*") if p.is_file()]
        paths += [p.relative_to(root).as_posix() for p in found]
    digest = hashlib.sha256()
    for path in sorted(p for p in paths if not NOT_SOURCES.search(p)):
        digest.update(path.encode() + b"\0")
        digest.update((root / path).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _assets() -> list[str]:
    html = (PACKAGED_UI_DIR / "index.html").read_text()
    return re.findall(r'(?:src|href)="/(assets/[^"]+)"', html)


def test_index_html_references_hashed_assets_that_exist_with_gzip_copies() -> None:
    assets = _assets()
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", asset), f"{asset} is not content-hashed"
        path = PACKAGED_UI_DIR / asset
        assert path.is_file(), f"index.html references a missing {asset}"
        assert gzip.decompress((PACKAGED_UI_DIR / f"{asset}.gz").read_bytes()) == path.read_bytes()


def test_the_committed_bundle_was_built_from_the_current_sources() -> None:
    stamp = json.loads((PACKAGED_UI_DIR / "build-stamp.json").read_text())
    assert stamp["sources"] == SOURCE_ROOTS
    assert stamp["sourceHash"] == _source_hash(UI_SOURCES), (
        "the Studio UI bundle is stale: run `npm run build` in studio-ui/ and commit "
        "src/flowai_harness/studio/static/"
    )


def test_the_wheel_package_data_covers_every_bundle_file() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["flowai_harness"]
    package = PACKAGED_UI_DIR.parent.parent
    for path in PACKAGED_UI_DIR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(package).as_posix()
            assert any(fnmatch(relative, pattern) for pattern in patterns), relative


def test_assets_are_served_compressed_and_cached_for_a_year() -> None:
    asset = next(a for a in _assets() if a.endswith(".js"))
    with studio_client(chat_app()) as client:
        page = client.get("/", headers={"Accept-Encoding": "gzip"})
        deep = client.get("/runs/run_1", headers={"Accept-Encoding": "gzip"})
        zipped = client.get(f"/{asset}", headers={"Accept-Encoding": "gzip, deflate, br"})
        plain = client.get(f"/{asset}", headers={"Accept-Encoding": "identity"})
        theme = client.get("/theme.js")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-encoding"] == "gzip"  # decoded by the client
    assert f"/{asset}" in page.text and deep.text == page.text
    assert zipped.headers["cache-control"] == IMMUTABLE
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert zipped.content == plain.content == (PACKAGED_UI_DIR / asset).read_bytes()
    assert "content-encoding" not in plain.headers
    assert theme.headers["cache-control"] == "no-cache"


def test_an_unchanged_index_is_revalidated_without_a_body() -> None:
    with studio_client(chat_app()) as client:
        first = client.get("/")
        again = client.get("/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
