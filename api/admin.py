"""`matcher-admin`: run the server, load the demo corpus, create accounts and API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from .auth import issue_token, revoke_token
from .db import make_engine, migrate
from .models import Account, Organisation, Researcher, Role
from .settings import get_settings

app = typer.Typer(help="産学官連携マッチング API の管理コマンド", no_args_is_help=True, add_completion=False)
console = Console()


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured database; its connections are closed when the command ends."""
    engine = make_engine(get_settings().sqlalchemy_url)
    try:
        migrate(engine)
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    load_demo: Annotated[bool, typer.Option("--load-demo", help="デモコーパスを読み込む（冪等）")] = False,
) -> None:
    """API サーバーを起動する。"""
    import uvicorn

    from .main import create_app

    settings = get_settings()
    if load_demo:
        settings = settings.model_copy(update={"load_demo": True})
        _offer_demo_coordinator()
    console.print(f"画面: http://{host}:{port}/  API: http://{host}:{port}/api/v1  ドキュメント: http://{host}:{port}/docs")
    uvicorn.run(create_app(settings), host=host, port=port)


def _offer_demo_coordinator() -> None:
    """On a demo database with no coordinator yet, create one and show its token once."""
    from sqlmodel import select

    with _session() as session:
        if session.exec(select(Account).where(Account.role == Role.coordinator)).first() is not None:
            return
        account = Account(name="デモ コーディネーター", role=Role.coordinator)
        session.add(account)
        session.commit()
        token = issue_token(session, account, label="demo coordinator")
    console.print(f"デモ用コーディネーターのAPIトークン（この一度だけ表示）: [bold]{token}[/bold]")
    console.print(f"  例: curl -H 'Authorization: Bearer {token}' http://127.0.0.1:8000/api/v1/needs")


@app.command("load-demo")
def load_demo_command() -> None:
    """デモコーパス（corpora/）をデータベースに読み込む。何度実行しても同じ結果になる。"""
    from .demo import load_demo

    with _session() as session:
        added = load_demo(session, get_settings().corpus_dir)
    console.print("追加: " + "、".join(f"{k} {v}" for k, v in added.items()))


@app.command("create-account")
def create_account(
    name: Annotated[str, typer.Option(help="アカウント名")],
    role: Annotated[Role, typer.Option(help="poster / researcher / coordinator / admin")],
    organisation_id: Annotated[int | None, typer.Option(help="所属組織のID")] = None,
    researcher_id: Annotated[int | None, typer.Option(help="研究者アカウントに結び付ける研究者のID")] = None,
) -> None:
    """アカウントを作り、APIトークンを1つ発行して表示する（トークンはこの時だけ表示されます）。"""
    with _session() as session:
        if organisation_id is not None and session.get(Organisation, organisation_id) is None:
            raise typer.BadParameter(f"組織（ID: {organisation_id}）が見つかりません。")
        account = Account(name=name, role=role, organisation_id=organisation_id)
        session.add(account)
        session.flush()
        if researcher_id is not None:
            researcher = session.get(Researcher, researcher_id)
            if researcher is None or role != Role.researcher:
                raise typer.BadParameter(
                    "研究者IDは、role が researcher のときに、登録済みの研究者を指定してください。")
            researcher.account_id = account.id
            session.add(researcher)
        session.commit()
        token = issue_token(session, account, label="created by matcher-admin")
        console.print(f"アカウント {account.id}（{role.value}）を作成しました。")
        print(token)


@app.command("create-token")
def create_token(account_id: int, label: str | None = None) -> None:
    """既存のアカウントに新しいAPIトークンを発行する。"""
    with _session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise typer.BadParameter(f"アカウント（ID: {account_id}）が見つかりません。")
        print(issue_token(session, account, label=label))


@app.command("revoke-token")
def revoke_token_command(token: str) -> None:
    """APIトークンを失効させる。"""
    with _session() as session:
        if not revoke_token(session, token):
            console.print("[red]そのトークンは見つからないか、すでに失効しています。[/red]")
            raise typer.Exit(1)
    console.print("トークンを失効させました。")
