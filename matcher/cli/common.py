"""What every command shares: path options with environment fallbacks, consoles, the progress bar,
the engine-error → exit-code mapping, and loading the encoder and the engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..corpus import CorpusError, load_corpus
from ..errors import InvalidInputError, MatcherError

if TYPE_CHECKING:  # the engine and the model load torch and faiss: imported when a command runs, not at start-up
    from ..embed import Encoder
    from ..engine import Engine
    from ..results import SyncReport

ROOT = Path(__file__).resolve().parents[2]
# The CLI indexes the corpus files; the API indexes its database in var/index. Separate folders,
# so neither rebuilds the other's index.
DEFAULT_INDEX_DIR = ROOT / "var" / "cli-index"

console = Console()
err_console = Console(stderr=True)

ModelDir = Annotated[Path, typer.Option(envvar="MATCHER_MODEL_DIR", help="sentence-transformers モデルのフォルダ")]
IndexDir = Annotated[Path, typer.Option(envvar="MATCHER_INDEX_DIR", help="索引の保存先")]
CorpusDir = Annotated[Path, typer.Option(envvar="MATCHER_CORPUS_DIR", help="コーパスのフォルダ")]
Threads = Annotated[int, typer.Option(help="推論スレッド数（0 = 自動）")]

StageProgress = Callable[[str, int, int], None]  # (stage, done, total)


@contextmanager
def progress_bar() -> Iterator[StageProgress]:
    """One bar per stage, on stderr, so that JSON on stdout stays clean."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as progress:
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield update


@contextmanager
def user_errors() -> Iterator[None]:
    """Engine errors become a Japanese message and a non-zero exit, not a traceback."""
    try:
        yield
    except InvalidInputError as e:
        err_console.print(f"[red]入力エラー:[/red] {e}")
        raise typer.Exit(2) from e
    except (MatcherError, CorpusError) as e:
        err_console.print(f"[red]エラー:[/red] {e}")
        raise typer.Exit(1) from e


def print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def load_encoder(model_dir: Path, threads: int) -> Encoder:
    from ..embed import Encoder

    return Encoder(model_dir, threads=threads or None)


def open_engine(model_dir: Path, index_dir: Path, corpus_dir: Path,
                threads: int) -> tuple[Engine, SyncReport, SyncReport]:
    """The engine over the corpus files, its index brought up to date (and saved) in `index_dir`."""
    from ..engine import Engine

    corpus = load_corpus(corpus_dir)
    encoder = load_encoder(model_dir, threads)
    with progress_bar() as update:
        return Engine.open(
            index_dir, encoder, seeds=corpus.seeds, needs=corpus.needs, universities=corpus.universities.values(),
            progress=lambda done, total: update("索引を更新", done, total),
        )
