"""Issue 14: schemathesis over the whole OpenAPI schema, on the ASGI app, on SQLite and PostgreSQL: no 5xx.

Every operation of the schema gets cases that fit it (positive) and cases that do not (negative: wrong types,
missing fields, strings of any Unicode, huge numbers, odd headers), sent in-process through the app already
started by the `client` fixture (schemathesis's own ASGI client would start a second lifespan). Each case goes
as one of the roles, or with the Authorization header schemathesis made up, so the cases reach past the
sign-in into validation, the rules and the database.

The default run keeps to about half a minute per backend (`EXAMPLES`); `-m slow` runs ten times as many.
Hypothesis is derandomised, so a run is repeatable, and it keeps no example database in the work tree.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

EXAMPLES = 25
SLOW_EXAMPLES = 80
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def operations(app):
    schema = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(client, actors, examples: int) -> dict[str, int]:
    """Send `examples` cases of each mode for every operation; return the cases sent per status class."""
    quiet = TestClient(client.app, raise_server_exceptions=False)  # a 5xx is a response to count, not a raise
    who = [actors.admin, actors.coordinator, actors.poster, actors.researcher, None]
    sent: dict[str, int] = {}
    failures: list[str] = []

    def cases_of(operation, mode):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            headers = {k: str(v).encode("utf-8") for k, v in (kwargs.get("headers") or {}).items()}
            role = who[sum(map(ord, case.id)) % len(who)] if case.id else None
            if role is not None:
                headers["Authorization"] = role["Authorization"].encode()
            body = {"json": kwargs["json"]} if "json" in kwargs else {"content": kwargs.get("data")}
            response = quiet.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                     headers=headers, **body)
            key = f"{response.status_code // 100}xx"
            sent[key] = sent.get(key, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{operation.label} {mode.value}: {response.status_code} {response.text[:200]}"
                                f"\n  {kwargs}")

        return run

    for operation in operations(client.app):
        for mode in MODES:
            try:
                cases_of(operation, mode)()
            except Unsatisfiable:  # nothing to get wrong (GET /livez takes no input): no negative case exists
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    assert not failures, "\n".join(failures[:10])
    return sent


def test_the_whole_schema_gives_no_server_error(client, actors):
    sent = fuzz(client, actors, EXAMPLES)
    assert sent.get("5xx", 0) == 0
    assert sum(sent.values()) >= len(operations(client.app)) * len(MODES)  # every operation was reached
    assert sent.get("2xx", 0) > 0 and sent.get("4xx", 0) > 0  # cases got past validation, and were refused
    print(f"\nschemathesis: {sum(sent.values())} cases, {sent}")


@pytest.mark.slow
def test_the_whole_schema_gives_no_server_error_deeply(client, actors):
    sent = fuzz(client, actors, SLOW_EXAMPLES)
    assert sent.get("5xx", 0) == 0
    print(f"\nschemathesis (deep): {sum(sent.values())} cases, {sent}")
