"""Seed the eval cases into Studio: ``python -m pricing_promotions.seed_eval_tests``.

Writes every case of :mod:`pricing_promotions.eval_cases` into the Studio store (by default
``.flowai/studio.db``, the file ``flowai-harness dev`` uses when started from the same
directory) for the app's workspace. Running it again updates the cases in place.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flowai_harness import EvalTestCase
from flowai_harness.studio import StudioStore
from pricing_promotions.app import app
from pricing_promotions.eval_cases import all_cases

__all__ = ["DEFAULT_STORE", "main", "seed"]

DEFAULT_STORE = Path(".flowai/studio.db")


def seed(store: StudioStore, workspace_key: str | None = None) -> list[dict[str, Any]]:
    """Upsert every eval case into ``store``; returns the stored rows.

    Args:
        store: The Studio store to write to.
        workspace_key: Workspace of the app; ``None`` means its default workspace.

    Raises:
        KeyError: the app has no such workspace.
        ValueError: a case does not survive a round trip through its wire form.
    """
    key = workspace_key or app.default_workspace
    app.workspace(key)
    rows = []
    for case in all_cases():
        payload = case.model_dump(by_alias=True, mode="json")
        if EvalTestCase.model_validate(payload) != case:
            raise ValueError(f"eval case {case.id!r} changes when read back from its wire form")
        rows.append(
            store.upsert_test_case(
                app_id=app.app_id, workspace_key=key, test_case_id=case.id, payload=payload
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints one line per seeded case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE, help="Studio store file")
    parser.add_argument("--workspace", default=None, help="workspace key (default: the app's)")
    args = parser.parse_args(argv)
    store = StudioStore(args.store)
    try:
        rows = seed(store, args.workspace)
    finally:
        store.close()
    for row in rows:
        case = row["testCase"]
        print(f"seeded {case['id']} ({', '.join(case.get('tags', []))})")
    print(f"{len(rows)} eval case(s) in {args.store} for app {app.app_id}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
