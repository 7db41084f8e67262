"""The OpenAPI contract is pinned by a snapshot, so that changes to it are deliberate.

To accept a deliberate change: UPDATE_OPENAPI_SNAPSHOT=1 .venv/bin/pytest tests/api/test_contract.py
"""

import json
import os
from pathlib import Path

from api.main import create_app
from api.settings import Settings

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "openapi.json"


def current_schema() -> dict:
    # building the schema needs no database or model: the lifespan does not run
    return create_app(Settings(data_dir=Path("/nonexistent"))).openapi()


def test_openapi_matches_snapshot():
    schema = current_schema()
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert schema == expected, "OpenAPI changed: review, then re-run with UPDATE_OPENAPI_SNAPSHOT=1"


def test_operation_ids_are_stable_and_unique():
    schema = current_schema()
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"create_need", "match_need", "create_seed", "update_seed", "withdraw_seed", "needs_for_seed",
            "livez", "readyz"} <= set(ids)
    assert all(p.startswith("/api/v1/") or p in ("/livez", "/readyz") for p in schema["paths"])
