"""`matcher-admin`: run the server, load the demo corpus, check the index, embed for a new model (on Ray if
asked), make a batch report from the database (api/report_cli.py), import a
university's シーズ集 (api/seed_import_cli.py), and create accounts and API tokens, change an account's role,
disable and enable it (api/accounts.py, whose rules and audit rows the admin pages and API share), list and revoke
tokens (api/tokens.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from sqlmodel import Session

from . import accounts, tokens
from .auth import issue_token, revoke_token
from .db import make_engine, migrate
from .errors import ApiError
from .models import Account, Role
from .settings import get_settings

if TYPE_CHECKING:
    from matcher.embed import TextEncoder

app = typer.Typer(help="産学官連携マッチング API の管理コマンド", no_args_is_help=True, add_completion=False)
console = Console()
JST = ZoneInfo("Asia/Tokyo")
# where `embed --ray-workers` and `report --shards` run: docs/scale-out.md
RayAddress = Annotated[str, typer.Option(help="Ray クラスタのアドレス（空なら既存のクラスタか、このマシンで起動）")]
EXPIRES = typer.Option("--expires-days", min=1, max=accounts.EXPIRES_DAYS_MAX,
                       help="有効期限（日数）。省略すると失効させるまで有効")


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
    workers: Annotated[int, typer.Option("--workers", min=1,
                                         help="ワーカープロセスの数（2以上は PostgreSQL を推奨）")] = 1,
) -> None:
    """API サーバーを起動する。"""
    import uvicorn

    from .main import create_app

    settings = get_settings()
    if load_demo:
        settings = settings.model_copy(update={"load_demo": True})
        _offer_demo_coordinator()
    console.print(f"画面: http://{host}:{port}/  API: http://{host}:{port}/api/v1  ドキュメント: http://{host}:{port}/docs")
    if workers > 1:
        from .workers import serve_workers  # the migration and the demo run once, here, before the workers

        serve_workers(settings, host=host, port=port, workers=workers)
    else:
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


@app.command("verify-index")
def verify_index_command(
    repair: Annotated[bool, typer.Option("--repair", help="食い違いがあれば、データベースから索引を書き直す")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="結果を JSON で出力する")] = False,
) -> None:
    """保存された索引をデータベースと照合する（IDと内容の指紋）。一致すれば終了コード 0、食い違いがあれば 1。"""
    from .verify import json_text, summary_lines, verify_index

    with _session() as session:
        outcome = verify_index(session, get_settings(), repair=repair)
    print(json_text(outcome) if as_json else "\n".join(summary_lines(outcome)))
    if not outcome.consistent:
        raise typer.Exit(1)


@app.command("embed")
def embed_command(
    model_dir: Annotated[Path, typer.Option("--model-dir", help="次に使う sentence-transformers モデルのフォルダ")],
    ray_workers: Annotated[int, typer.Option(help="Ray のワーカー数（0 = このプロセスで埋め込む）")] = 0,
    ray_address: RayAddress = "",
) -> None:
    """別のモデルのベクトルを前もって作り、データベースに保存する（サービスは止めずに、途中で止めても再開できる）。

    すべて終わってから MATCHER_MODEL_DIR をそのモデルに替えて再起動すると、起動時の埋め込みはありません。
    """
    from rich.progress import Progress

    from .reembed import embed_missing

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        migrate(engine)
        with _encoder(model_dir, settings.threads, settings.encoder_backend, ray_workers, ray_address) as encoder, \
                Progress(console=console) as progress:
            task = progress.add_task(f"{encoder.name} のベクトル", total=None)
            report = embed_missing(engine, encoder, progress=lambda done, total: progress.update(
                task, completed=done, total=total))
    finally:
        engine.dispose()
    console.print(f"モデル {report.model_id}: 文章 {report.texts} 件のうち、保存済み {report.already_stored} 件、"
                  f"今回作成 {report.embedded} 件")


@contextmanager
def _encoder(model_dir: Path, threads: int, backend: str, ray_workers: int, ray_address: str) -> Iterator[TextEncoder]:
    """The encoder of `embed`: in this process, or `ray_workers` actors on a Ray cluster (matcher/ray_encode.py)."""
    from matcher.embed import Encoder

    if ray_workers <= 0:
        yield Encoder(model_dir, threads=threads, backend=backend)
        return
    from matcher.ray_encode import EncoderSpec, RayEncoder
    from matcher.shards import ray_session

    with ray_session(ray_address or None):
        pool = RayEncoder(EncoderSpec(model_dir, backend), ray_workers)  # one torch thread per actor
        try:
            yield pool
        finally:
            pool.close()


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="出力フォルダ")] = Path("var/reports/latest"),
    formats: Annotated[str, typer.Option("--format", "-f", help="html,xlsx,csv,pdf,json（カンマ区切り）")] =
        "html,xlsx,csv,json",
    region: Annotated[list[str], typer.Option("--region", "-r", help="地域ブロック（複数可）")] = [],  # noqa: B006
    prefecture: Annotated[list[str], typer.Option("--prefecture", "-p", help="都道府県（複数可）")] = [],  # noqa: B006
    shards: Annotated[int, typer.Option(help="シーズを分けるシャード数（2以上で Ray が分担。結果は1と同じ）")] = 1,
    ray_address: RayAddress = "",
) -> None:
    """データベースのシーズとニーズでレポートを作る（Ray で分担して検索できる。docs/scale-out.md）。"""
    from matcher.embed import Encoder
    from matcher.report_render import parse_formats, render_report
    from matcher.reports import ReportOptions, ReportScope

    from .report_cli import report_from_database

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        migrate(engine)
        encoder = Encoder(settings.model_dir, threads=settings.threads, backend=settings.encoder_backend)
        scope = ReportScope(regions=tuple(region), prefectures=tuple(prefecture))
        report = report_from_database(engine, encoder, scope, ReportOptions(), shards=shards,
                                      ray_address=ray_address or None)
        rendered = render_report(report, out, parse_formats(formats))
    finally:
        engine.dispose()
    console.print(f"ニーズ {report.meta.needs} 件 × シーズ {report.meta.seeds} 件（シャード {shards}）")
    for path in rendered.files:
        console.print(f"  {path}")


@app.command("create-account")
def create_account(
    name: Annotated[str, typer.Option(help="アカウント名")],
    role: Annotated[Role, typer.Option(help="poster / researcher / coordinator / admin")],
    organisation_id: Annotated[int | None, typer.Option(help="所属組織のID")] = None,
    researcher_id: Annotated[int | None, typer.Option(help="研究者アカウントに結び付ける研究者のID")] = None,
    expires_days: Annotated[int | None, EXPIRES] = None,
    liaison_office: Annotated[bool, typer.Option("--liaison-office", help=LIAISON_HELP)] = False,
) -> None:
    """アカウントを作り、APIトークンを1つ発行して表示する（トークンはこの時だけ表示されます）。"""
    with _session() as session, _as_bad_parameter():
        account, token = accounts.create_account(
            session, name=name, role=role, organisation_id=organisation_id, researcher_id=researcher_id,
            liaison_office=liaison_office, expires_days=expires_days, label="created by matcher-admin")
        console.print(f"アカウント {account.id}（{role.value}）を作成しました。")
        print(token)


LIAISON_HELP = "大学の産学連携窓口のアカウントにする（紹介依頼が届き、承諾・辞退できる。大学の組織のIDが必要）"


@contextmanager
def _as_bad_parameter() -> Iterator[None]:
    """The rules' Japanese ApiError (api/accounts.py) as the command line's usage error."""
    try:
        yield
    except ApiError as exc:
        raise typer.BadParameter(exc.message) from exc


@app.command("set-liaison-office")
def set_liaison_office(account_id: int,
                       off: Annotated[bool, typer.Option("--off", help="窓口の指定を外す")] = False) -> None:
    """既存のアカウントを、その大学の産学連携窓口にする（--off で外す）。"""
    with _session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise typer.BadParameter(f"アカウント（ID: {account_id}）が見つかりません。")
        if not off:
            with _as_bad_parameter():
                accounts.check_university(session, account.organisation_id)
        account.is_liaison_office = not off
        session.add(account)
        session.commit()
    console.print(f"アカウント {account_id} を産学連携窓口{'から外しました' if off else 'にしました'}。")


@app.command("import-seeds")
def import_seeds_command(
    file: Annotated[Path, typer.Argument(help="シーズ集の CSV（UTF-8・BOM付き UTF-8・cp932）か XLSX")],
    organisation_id: Annotated[int, typer.Option("--organisation-id", help="取り込む大学の組織ID")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="確認だけを行い、何も書き込まない")] = False,
) -> None:
    """大学のシーズ集を一括登録する（外部IDで冪等。すべての行か、1行も書かないか）。行ごとの結果を表示し、取り込めない行が
    あれば何も書き込まずに終了コード 1。列の書き方は README の「シーズの一括登録」。"""
    from .seed_import_cli import ImportFailed, import_seeds

    try:
        import_seeds(file, organisation_id, dry_run=dry_run, console=console)
    except ImportFailed as e:
        console.print(f"[bold red]{e}[/]")
        raise typer.Exit(1) from e


@app.command("export-feedback")
def export_feedback(out: Annotated[Path, typer.Option("--out", help="書き出す JSONL ファイル")]) -> None:
    """照合結果への評価を、順位付けのベンチマーク用のラベル付きデータ（JSONL: need_id, partner_key, label,
    reason）として書き出す。label は 1 が「役に立った」、0 が「役に立たなかった」。順位付けそのものは変えない。"""
    from .feedback import export_rows

    out.parent.mkdir(parents=True, exist_ok=True)
    with _session() as session, out.open("w", encoding="utf-8") as f:
        count = 0
        for row in export_rows(session):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    console.print(f"{count} 件を {out} に書き出しました。")


@app.command("create-token")
def create_token(account_id: int, label: str | None = None,
                 expires_days: Annotated[int | None, EXPIRES] = None) -> None:
    """既存のアカウントに新しいAPIトークンを発行する。"""
    with _session() as session, _as_bad_parameter():
        print(accounts.new_token(session, account_id, label=label, expires_days=expires_days)[1])


@app.command("revoke-token")
def revoke_token_command(
    token: Annotated[str | None, typer.Argument(help="失効させるトークンそのもの（--id を使わない場合）")] = None,
    token_id: Annotated[int | None, typer.Option("--id", help="失効させるトークンのID（list-tokens で表示）")] = None,
) -> None:
    """APIトークンを失効させる（ID またはトークンそのもので）。そのトークンでログインした画面のセッションも終わる。"""
    if (token is None) == (token_id is None):
        raise typer.BadParameter("トークンそのものか --id のどちらか一方を指定してください。")
    with _session() as session:
        if token_id is not None:
            revoked = tokens.revoke_token_id(session, token_id)
            if revoked is None:
                console.print(f"[red]トークン（ID: {token_id}）が見つかりません。[/red]")
                raise typer.Exit(1)
        elif not revoke_token(session, token or ""):
            console.print("[red]そのトークンは見つからないか、すでに失効しています。[/red]")
            raise typer.Exit(1)
    console.print("トークンを失効させました。")


@app.command("list-tokens")
def list_tokens_command(
    account_id: Annotated[int | None, typer.Option("--account-id", help="このアカウントのトークンだけ")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False,
) -> None:
    """APIトークンの一覧（ID・アカウント・ラベル・発行・有効期限・最後の利用・失効）。トークンそのものは表示できません。"""
    with _session() as session:
        rows = tokens.list_tokens(session, account_id)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2))
        return
    # one line a token (not a table: nothing is cut off in a narrow terminal, and grep finds it)
    for r in rows:
        state = "有効" if r.active else ("失効" if r.revoked_at else "無効（期限切れ・停止）")
        print(f"ID {r.id}\t{state}\t{r.account_name}（アカウント {r.account_id}、{r.role.value}）\t"
              f"ラベル: {r.label or 'なし'}\t発行: {_day(r.created_at)}\t有効期限: {_day(r.expires_at) or 'なし'}\t"
              f"最後の利用: {_day(r.last_used_at) or '未使用'}")


def _day(moment: datetime | None) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M") if moment else ""


@app.command("set-role")
def set_role_command(account_id: int,
                     role: Annotated[Role, typer.Option(help="poster / researcher / coordinator / admin")]) -> None:
    """アカウントの役割を変える（最後の有効な管理者は変えられない）。監査記録に残る。"""
    with _session() as session, _as_bad_parameter():
        accounts.change_role(session, None, account_id, role)
    console.print(f"アカウント {account_id} の役割を {role.value} にしました。")


@app.command("disable-account")
def disable_account_command(account_id: int) -> None:
    """アカウントを停止する（トークンはすべて使えなくなり、画面のセッションも終わる。最後の有効な管理者は停止できない）。"""
    _set_disabled(account_id, True)
    console.print(f"アカウント {account_id} を停止しました。")


@app.command("enable-account")
def enable_account_command(account_id: int) -> None:
    """停止したアカウントを再び使えるようにする。"""
    _set_disabled(account_id, False)
    console.print(f"アカウント {account_id} を再開しました。")


def _set_disabled(account_id: int, disabled: bool) -> None:
    """As the admin pages do, with the command line as the one who did it in the audit log."""
    with _session() as session:
        try:
            accounts.set_disabled(session, None, account_id, disabled)
        except ApiError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from exc


@app.command("audit")
def audit_command(
    researcher_id: Annotated[int | None, typer.Option("--researcher-id", help="この研究者についての記録だけ")] = None,
    account_id: Annotated[int | None, typer.Option("--account-id", help="このアカウントの操作だけ")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="表示する件数（新しい順）")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力する")] = False,
) -> None:
    """監査記録（新しい順）: 研究者の連絡先を誰に示したか、サポートでのシーズの閲覧、研究者のデータの書き出しと削除。"""
    from .audit import entries

    with _session() as session:
        rows, total = entries(session, limit=limit, offset=0, researcher_id=researcher_id, account_id=account_id)
    if as_json:
        print(json.dumps({"total": total, "items": [r.model_dump(mode="json") for r in rows]}, ensure_ascii=False,
                         indent=2))
        return
    for r in rows:  # one line a row, as list-tokens
        print(f"{_day(r.created_at)}\t{AUDIT_ACTIONS.get(r.action, r.action)}\t"
              f"アカウント {r.account_id or '-'}（{r.account_role or 'コマンド'}）\t研究者 {r.researcher_id or '-'}\t"
              f"{FIELD_NAMES.get(r.field or '', '')}\t{r.route}" + (f"\t理由: {r.reason}" if r.reason else ""))
    console.print(f"{len(rows)} 件を表示（全 {total} 件）")


AUDIT_ACTIONS = {"contact_shown": "連絡先の表示", "support_seed_read": "サポートでのシーズの閲覧",
                 "researcher_exported": "研究者のデータの書き出し", "researcher_erased": "研究者のデータの削除",
                 "account_role_changed": "アカウントの役割の変更", "account_disabled": "アカウントの停止",
                 "account_enabled": "アカウントの再開", "organisation_updated": "組織の編集"}
FIELD_NAMES = {"email": "メール", "phone": "電話"}
