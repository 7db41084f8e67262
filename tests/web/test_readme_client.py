"""The README's Python client example (issue 15), run as written against a live server: an example integrators
copy must work."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT

from .conftest import token_of

MARKER = "<!-- client-example -->"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert MARKER in text, "the README lost its client example"
    found = re.search(r"```python\n(.*?)```", text.split(MARKER, 1)[1], re.DOTALL)
    assert found, "no python block after the client-example marker"
    return found.group(1)


def test_the_readme_client_example_runs_against_a_live_server(live_server, tmp_path):
    script = tmp_path / "client.py"
    script.write_text(readme_example(), encoding="utf-8")
    env = {**os.environ, "MATCHER_URL": live_server.url, "MATCHER_TOKEN": token_of(live_server.actors.poster)}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    ranked = [line for line in lines if re.match(r"[123] ", line)]
    assert len(ranked) == 3, done.stdout  # three partners, each with a name, a place, a score, an explanation
    assert all(len(line.split(" ", 4)) == 5 for line in ranked), ranked
    assert lines[-1].startswith("地域外の候補: ['"), done.stdout
