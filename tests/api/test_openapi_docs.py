"""The API description integrators read (issue 15): Japanese for every operation, parameter and field; examples
that the API accepts; the CLI it names exists (api/openapi_docs.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from api import admin, introduction_models, models, openapi_docs, report_models, schemas
from api.main import create_app
from api.openapi_docs import is_japanese
from api.settings import Settings

MODEL_MODULES = (models, schemas, introduction_models, report_models)


@pytest.fixture(scope="module")
def app():
    return create_app(Settings(data_dir=Path("/nonexistent")))


@pytest.fixture(scope="module")
def schema(app):
    return app.openapi()


def operations(schema):
    return [(f"{method.upper()} {path}", op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def test_every_operation_has_a_japanese_summary_and_description(schema):
    missing = [name for name, op in operations(schema)
               if not (is_japanese(op.get("summary")) and is_japanese(op.get("description")))]
    assert missing == []


def test_every_parameter_has_a_japanese_description(schema):
    missing = [f"{name} {p['name']}" for name, op in operations(schema) for p in op.get("parameters", [])
               if not is_japanese(p.get("description"))]
    assert missing == []


def test_every_schema_field_and_enum_has_a_japanese_description(schema):
    components = schema["components"]["schemas"]
    fields = [f"{name}.{field}" for name, component in components.items()
              for field, prop in component.get("properties", {}).items() if not is_japanese(prop.get("description"))]
    enums = [name for name, component in components.items()
             if "enum" in component and not is_japanese(component.get("description"))]
    assert (fields, enums) == ([], [])


def test_the_main_operations_have_examples_the_api_accepts(schema):
    """Each example is validated by the request body's own model (validators included), so an example cannot
    drift from what the API accepts."""
    with_examples = {}
    for _, op in operations(schema):
        content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "example" in content:
            ref = re.search(r'"#/components/schemas/(\w+)"', json.dumps(content["schema"]))
            assert ref, op["operationId"]
            with_examples[op["operationId"]] = (ref.group(1), content["example"])
    assert {"create_need", "match_need", "create_seed", "start_report", "request_introduction",
            "give_feedback"} <= set(with_examples)
    for model_name, example in with_examples.values():
        model = next(getattr(module, model_name) for module in MODEL_MODULES if hasattr(module, model_name))
        model.model_validate(example)  # raises if the example is not a valid request


def test_every_glossary_entry_describes_something(app):
    """An entry for a field or parameter that no longer exists would mislead the next reader."""
    used = openapi_docs.document(_undocumented(app))
    entries = ({*openapi_docs.FIELDS} | {f"parameter:{p}" for p in openapi_docs.PARAMETERS}
               | {f"enum:{e}" for e in openapi_docs.ENUMS} | {f"example:{e}" for e in openapi_docs.EXAMPLES})
    assert sorted(entries - used) == []


def _undocumented(app):
    """The schema as FastAPI generates it, before api/openapi_docs.py fills it in."""
    from fastapi.openapi.utils import get_openapi

    return get_openapi(title=app.title, version=app.version, routes=app.routes)


def test_the_commands_the_description_names_exist(schema):
    text = json.dumps(schema, ensure_ascii=False)
    named = set(re.findall(r"matcher-admin ([a-z][a-z-]+)", text))
    commands = {c.name or c.callback.__name__.replace("_", "-") for c in admin.app.registered_commands}
    assert named and named <= commands, named - commands


def test_the_summary_is_the_docstrings_first_sentence():
    assert openapi_docs.first_sentence("ニーズを投稿する。その場で候補を受け取る。\n\n詳しくは…") == "ニーズを投稿する"
    assert openapi_docs.first_sentence("句点のない一文") == "句点のない一文"
