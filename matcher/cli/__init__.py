"""Command line: `matcher index`, `matcher match`, `matcher needs-for-seed`, `matcher demo`, `matcher report`,
`matcher bench …`.

Paths come from options, with environment fallbacks (MATCHER_MODEL_DIR,
MATCHER_INDEX_DIR, MATCHER_CORPUS_DIR) so that another model folder can be
swapped in without touching code.

    common.py   options, consoles, progress, errors → exit codes, loading the engine
    match.py    setup-model, index, match, needs-for-seed, demo (and how results are printed)
    report.py   report
    bench.py    bench similarity / retrieval / need2univ / report-scale
    commands.py build_app: every command registered, explicitly, in one list
"""

from __future__ import annotations

from .commands import build_app

app = build_app()  # the console script `matcher` (pyproject.toml)


def main() -> None:  # pragma: no cover - console entry point
    app()
