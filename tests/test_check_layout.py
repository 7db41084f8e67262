"""The layout check (`make check`) finds what it claims to: circles, relative imports, layer breaches."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .conftest import ROOT

spec = importlib.util.spec_from_file_location("check_layout", ROOT / "scripts" / "check_layout.py")
assert spec is not None and spec.loader is not None
check_layout = importlib.util.module_from_spec(spec)
sys.modules["check_layout"] = check_layout
spec.loader.exec_module(check_layout)


def test_a_loop_of_three_is_one_circle_and_a_chain_is_none():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert check_layout.import_circles(graph) == [["a", "b", "c"]]
    assert check_layout.import_circles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_relative_and_deferred_imports_are_edges_but_type_checking_ones_are_not(tmp_path: Path):
    module = tmp_path / "web.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import render\n"
        "from ..errors import table\n"
        "if TYPE_CHECKING:\n"
        "    from .deps import SignedIn\n"
        "def later():\n"
        "    from api.service import MatchService\n",
        encoding="utf-8")
    known = {"api.web.web", "api.web.render", "api.web.deps", "api.errors", "api.service"}
    assert check_layout.imports_of("api.web.web", module, known) == {"api.web.render", "api.errors", "api.service"}


def test_the_engine_may_not_import_the_web_or_the_database(tmp_path: Path):
    engine_module = tmp_path / "bad.py"
    engine_module.write_text("import sqlmodel\nfrom fastapi import Request\nimport numpy\n", encoding="utf-8")
    api_module = tmp_path / "fine.py"
    api_module.write_text("import sqlmodel\n", encoding="utf-8")
    breaches = check_layout.engine_layer_breaches({"matcher.bad": engine_module, "api.fine": api_module})
    assert breaches == ["matcher.bad imports fastapi", "matcher.bad imports sqlmodel"]
