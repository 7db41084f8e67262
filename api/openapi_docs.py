"""The API description in Japanese for integrators: every operation, parameter and schema field (issue 15).

FastAPI writes the description from each route's docstring, and a field's from its `Field(description=…)`.
What they leave out is filled in here, once, after the schema is generated:

- an operation's summary: the first sentence of its docstring (FastAPI would write "Create Need");
- a parameter or field without a description of its own: the glossary below, by name. Most names mean the
  same wherever they appear (`prefecture_code`, `created_at`, `limit`), so one entry each keeps 350 fields
  consistent; where a name means something else in one schema, a "Schema.field" entry says so;
- an enum schema: what it lists;
- request examples of the main operations.

`Field(description=…)` stays the way for a field particular to its schema; the glossary never overrides one.
tests/api/test_openapi_docs.py fails when anything is left without a Japanese description, or an entry here
describes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from .alert_models import LEVEL_NAMES, MIN_SIMILARITY
from .limits import ID_MAX

Schema = dict[str, Any]
PATH_ID = f"ID（1〜{ID_MAX}）"  # api/params.PathId's description

SEED_VISIBILITY = "シーズの公開範囲（public: 公開／registered: ログインした人だけ／private: 下書き、本人だけ）"
NEED_VISIBILITY = "ニーズの公開範囲（public: 公開／confidential: 投稿者とコーディネーター・管理者だけ）"
CONTACT_VISIBILITY = "公開範囲（public: 誰にでも／registered: ログインした人だけ／private: 非公開）"
ORG_KIND = "組織の種別（university: 大学／municipality: 自治体／company: 企業／other: その他）"
COLLABORATION = "求める連携の形（共同研究・受託研究・技術相談・実証試験・人材育成）"
READINESS = "技術の成熟度（基礎研究・応用研究・実証段階・実用化段階）"
ALERT_LEVEL = "知らせる近さ（" + "／".join(
    f"{level.value}: {LEVEL_NAMES[level]}、内容の近さ {floor:g} 以上" for level, floor in MIN_SIMILARITY.items()) + "）"
INTRODUCTION_STATUS = "紹介依頼の状態（pending: 回答待ち／accepted: 承諾／declined: 辞退）"

# ---- fields, by name (and "Schema.field" where the same name means something else) --------------------
FIELDS: dict[str, str] = {
    "id": "ID（この種類の記録の中で一意）",
    "title": "題目",
    "description": "本文（課題の内容。最大10,000字）",
    "summary": "概要",
    "keywords": "キーワードの一覧",
    "text": "照合に使った本文",
    "kana": "氏名のよみがな",
    "department": "所属部局",
    "position": "職名",
    "email": "メールアドレス",
    "phone": "電話番号",
    "email_visibility": "メールアドレスの" + CONTACT_VISIBILITY,
    "phone_visibility": "電話番号の" + CONTACT_VISIBILITY,
    "created_at": "登録日時（ISO 8601、UTC）",
    "updated_at": "最終更新日時（ISO 8601、UTC）",
    "answered_at": "回答日時（ISO 8601、UTC。未回答なら null）",
    "finished_at": "終了日時（ISO 8601、UTC。終わっていなければ null）",
    "expires_at": "有効期限（ISO 8601、UTC。null なら無期限）",
    "last_used_at": "最後に使われた日時（ISO 8601、UTC）",
    "revoked_at": "失効させた日時（ISO 8601、UTC。有効なら null）",
    "exported_at": "書き出した日時（ISO 8601、UTC）",
    "prefecture_code": "都道府県コード（JIS X 0401 の2桁、例: 01 北海道、13 東京都）",
    "municipality_code": "市区町村の全国地方公共団体コード（6桁。分かる場合）",
    "prefecture": "都道府県（コード・名称・地域ブロック）",
    "region": "地域ブロック（北海道・東北・関東・中部・近畿・中国・四国・九州）",
    "market_areas": "市場領域（M1〜M9 の一覧）",
    "collaboration": COLLABORATION,
    "readiness": READINESS,
    "organisation_id": "所属する組織の ID",
    "researcher_id": "研究者の ID",
    "account_id": "アカウントの ID",
    "need_id": "ニーズの ID",
    "seed_id": "シーズの ID",
    "researcher": "研究者（連絡先は公開範囲に従う）",
    "university": "大学名",
    "poster": "投稿した組織（名称・種別）",
    "role": "役割（poster: ニーズの投稿者／researcher: 研究者／coordinator: コーディネーター／admin: 管理者）",
    "label": "用途のメモ",
    "reason": "理由",
    "items": "このページの項目",
    "total": "条件に合う項目の総数",
    "limit": "1ページの最大件数",
    "offset": "先頭から飛ばした件数",
    "level": "候補の単位（university: 大学／researcher: 研究者／seed: シーズ）",
    "scope": "照合の範囲（all: 全国／in-region: 同じ地域ブロック内／cross-region: 地域ブロックの外）",
    "top_k": "返す候補の数",
    "include_prefectures": "この都道府県のシーズだけを候補にする（コードの一覧）",
    "exclude_prefectures": "この都道府県のシーズを候補から外す（コードの一覧）",
    "include_regions": "この地域ブロックのシーズだけを候補にする",
    "exclude_regions": "この地域ブロックのシーズを候補から外す",
    "cross_region": "ニーズと地域ブロックが異なるか（どちらかの所在地が不明なら null）",
    "partner_level": "候補の単位（university / researcher / seed）",
    "partner_key": "照合結果の候補の key（単位の中で候補を一意に示す）",
    "partner_name": "候補の名称（大学名・研究者名・シーズの題目）",
    "need_title": "ニーズの題目",
    "contact": "連絡先（公開範囲に従う。示せるものがなければ null）",
    "name_en": "英語の名称",
    "liaison_office": "産学連携窓口の名称",
    "liaison_url": "産学連携窓口のウェブページ",
    "liaison_email": "産学連携窓口のメールアドレス",
    "liaison_phone": "産学連携窓口の電話番号",
    "office": "産学連携窓口の名称",
    "url": "ウェブページの URL",
    "useful": "役に立ったか（true: 役に立った／false: 役に立たなかった）",
    "field": "項目名",
    "details": "項目ごとの誤り",
    "disabled": "停止中のアカウントか",
    "is_liaison_office": "大学の産学連携窓口のアカウントか（紹介依頼を受け取り、回答する）",
    "receives_introductions": "紹介依頼を研究者本人も受け取るか（窓口には常に届く）",
    "account_name": "アカウントの名前",
    "account_role": "アカウントの役割",
    "active": "使えるトークンか（失効・期限切れでない）",
    "action": "記録した操作",
    "route": "連絡先を示した経路（API・画面など）",
    "office_email": "産学連携窓口のメールアドレス",
    "office_phone": "産学連携窓口の電話番号",
    "office_url": "産学連携窓口のウェブページ",
    "seeds_deleted": "削除したシーズの数",
    "report_jobs_cleared": "研究者の情報を消したレポートのジョブの数",
    "account_disabled": "研究者のアカウントを停止したか",
    "checks": "確認した項目ごとの結果",
    "requester": "依頼した人（アカウントの名前と組織）",
    "need": "照合したニーズ（本文と、一致した語の位置）",
    "partners": "連携先の候補（順位の順）",
    "best_in_region": "同じ地域ブロックで最も良い候補（ニーズの都道府県が分からなければ null）",
    "cross_region_count": "表示した候補のうち、地域ブロックの外の候補の数",
    "match": "投稿と同時に行った照合の結果",
    "link": "関連するページ（このサイトのパス）",
    "read": "既読か",
    "unread": "未読の通知の数",
    "key": "候補を一意に示す key（紹介依頼・評価で候補を指すのに使う）",
    "promoted_for_cross_region": "地域ブロックの外の候補を示すために繰り上げた候補か",
    "accepted": "承諾された紹介依頼の数",
    "declined": "辞退された紹介依頼の数",
    "pending": "回答待ちの紹介依頼の数",
    "not_useful": "「役に立たなかった」の数",
    "stage": "いま行っている段階",
    "done": "終わった件数",
    "params": "ジョブを始めたときの条件",
    "files": "出力ファイル（終わってから）",
    "formats": "出力する形式（html・xlsx・csv・pdf・json）",
    "top_partners": "ニーズごとに載せる候補の数",
    "flow_partners": "地域間の流れに数える、ニーズごとの候補の数",
    "csv_encoding": "CSV の文字コード（utf-8-sig: BOM 付き UTF-8／cp932: Excel の既定）",
    "account": "自分のアカウント",
    "seeds": "シーズ（下書き・取り下げを含む）",
    "contact_disclosures": "自分の連絡先を、誰に、いつ、どの経路で示したかの記録",
    # the same names, where they mean something particular
    "AccountPublic.name": "アカウントの名前（担当者名や部署名）",
    "OrganisationCreate.name": "組織の名称",
    "OrganisationPublic.name": "組織の名称",
    "OrganisationCreate.kind": ORG_KIND,
    "OrganisationPublic.kind": ORG_KIND,
    "OrganisationCreate.prefecture_code": "組織の所在地の都道府県コード（JIS X 0401 の2桁）",
    "OrganisationPublic.prefecture_code": "組織の所在地の都道府県コード（JIS X 0401 の2桁）",
    "ResearcherCreate.name": "研究者の氏名",
    "ResearcherPublic.name": "研究者の氏名",
    "ResearcherSelf.name": "研究者の氏名",
    "ResearcherUpdate.name": "研究者の氏名",
    "PartnerOut.name": "候補の名称（大学名・研究者名・シーズの題目）",
    "PrefectureOut.name": "都道府県名",
    "PrefectureOut.code": "都道府県コード（JIS X 0401 の2桁）",
    "ReportFile.name": "ファイル名",
    "ReportFile.url": "ダウンロードの URL",
    "NotificationOut.kind": "通知の種類（紹介依頼が届いた、承諾された、など）",
    "NotificationOut.message": "通知の文面",
    "NeedPublic.status": "ニーズの状態（active: 募集中／withdrawn: 取り下げ）",
    "NeedCreated.status": "ニーズの状態（active: 募集中／withdrawn: 取り下げ）",
    "SeedPublic.status": "シーズの状態（active: 照合の対象／withdrawn: 取り下げ）",
    "IntroductionOut.status": INTRODUCTION_STATUS,
    "IntroductionOut.message": "依頼者からのメッセージ",
    "IntroductionOut.reason": "承諾・辞退の理由",
    "IntroductionOut.organisation_id": "依頼を受けた大学（組織）の ID",
    "OrganisationCreate.municipality_code": ("キャンパス（所在地）の市区町村。全国地方公共団体コードか名前で、"
                                             "都道府県の中の市区町村（任意。大学の距離はここから測る）"),
    "OrganisationPublic.municipality_code": "キャンパス（所在地）の市区町村の全国地方公共団体コード（6桁。分かる場合）",
    "IntroductionOut.university": "依頼を受けた大学の名称",
    "IntroductionOut.researcher": "依頼を受けた研究者（大学単位の候補なら null）",
    "FeedbackOut.reason": "評価の理由（任意）",
    "FeedbackOut.region": "ニーズの地域ブロック",
    "IntroductionOut.region": "ニーズの地域ブロック",
    "Health.status": "状態（ok: 準備ができている／not_ready: まだ）",
    "ReportJobOut.status": "ジョブの状態（queued: 待ち／running: 実行中／succeeded: 完了／failed: 失敗）",
    "ReportJobOut.message": "失敗したときの理由など",
    "ReportJobOut.summary": "レポートの要約（ニーズの数・未充足の数・地域を越えた割合など）",
    "ReportJobOut.total": "全体の件数",
    "NeedCreate.visibility": NEED_VISIBILITY,
    "NeedUpdate.visibility": NEED_VISIBILITY,
    "NeedPublic.visibility": NEED_VISIBILITY,
    "NeedCreated.visibility": NEED_VISIBILITY,
    "SeedCreate.visibility": SEED_VISIBILITY,
    "SeedUpdate.visibility": SEED_VISIBILITY,
    "SeedPublic.visibility": SEED_VISIBILITY,
    "SeedCreate.researcher_id": "登録する研究者の ID（管理者が代わりに登録するとき。研究者本人は省略）",
    "ErasureOut.message": "結果の説明",
    "ErrorBody.code": "誤りの種類を示すコード（機械向け）",
    "ErrorBody.message": "誤りの説明（日本語）",
    "ErrorDetail.message": "この項目の誤りの説明（日本語）",
    "ErrorResponse.error": "誤りの内容",
    "ResearcherExport.researcher": "研究者情報と連絡先、その公開範囲",
    "ApiTokenPublic.id": "トークンの ID（失効させるときに使う。トークンそのものではない）",
}

PARAMETERS: dict[str, str] = {
    "limit": "1ページの最大件数",
    "offset": "先頭から飛ばす件数（ページ送り）",
    "mine": "true なら自分のものだけ",
    "need_id": "ニーズの ID",
    "seed_id": "シーズの ID",
    "researcher_id": "研究者の ID",
    "account_id": "アカウントの ID",
    "organisation_id": "組織の ID",
    "token_id": "トークンの ID（一覧で表示）",
    "job_id": "レポートのジョブの ID",
    "request_id": "紹介依頼の ID",
    "notification_id": "通知の ID",
    "name": "ファイル名",
    "top_k": "返すニーズの数",
    "confirm": "true で実行する（元に戻せない操作の確認）",
    "reason": "閲覧の理由（監査記録に残る）",
    "action": "この操作の記録だけを返す",
    "kind": "この種別だけを返す",
}

ENUMS: dict[str, str] = {
    "AlertLevel": ALERT_LEVEL,
    "AuditAction": "監査記録の操作の種類",
    "Collaboration": COLLABORATION,
    "ContactVisibility": "連絡先の" + CONTACT_VISIBILITY,
    "IntroductionStatus": INTRODUCTION_STATUS,
    "NeedVisibility": NEED_VISIBILITY,
    "OrgKind": ORG_KIND,
    "Readiness": READINESS,
    "Role": "アカウントの役割（poster・researcher・coordinator・admin）",
    "SeedVisibility": SEED_VISIBILITY,
    "Status": "状態（active: 有効／withdrawn: 取り下げ）",
}

NEED_EXAMPLE = {
    "title": "牧草地の生育状況をドローンで把握したい",
    "description": "酪農家が広い牧草地の生育の偏りを把握できず、追肥の時期と量を経験で決めている。"
                   "ドローンや衛星の画像から生育の状態を推定し、区画ごとの施肥計画を作る技術を探している。",
    "prefecture_code": "01",
    "municipality_code": "016918",
    "market_areas": ["M1"],
    "collaboration": "共同研究",
    "visibility": "public",
}
EXAMPLES: dict[str, Any] = {
    "create_need": NEED_EXAMPLE,
    "update_need": {"collaboration": "技術相談"},
    "match_need": {"top_k": 10, "scope": "all", "level": "university", "sort": "overall",
                   "exclude_regions": ["関東"]},
    "export_need_matches": {"top_k": 30, "scope": "all", "level": "researcher"},
    "create_seed": {"title": "マルチスペクトル画像による草地の生育推定", "summary": "ドローンで撮った画像から牧草の"
                    "生育量を推定し、施肥量の地図を作る。", "keywords": ["リモートセンシング", "草地", "精密農業"],
                    "market_areas": ["M1"], "readiness": "実証段階", "visibility": "public"},
    "start_report": {"regions": ["北海道", "東北"], "formats": ["html", "xlsx"], "top_partners": 5},
    "request_introduction": {"need_id": 12, "seed_id": 345, "level": "university",
                             "message": "牧草地の生育推定について、共同研究のご相談をお願いできますか。"},
    "give_feedback": {"need_id": 12, "level": "university", "key": "北海道大学", "name": "北海道大学", "useful": True,
                      "reason": "同じ地域で実証できそう"},
}

_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def is_japanese(text: str | None) -> bool:
    return bool(text and _JAPANESE.search(text))


def first_sentence(text: str) -> str:
    """The docstring's first sentence (to 「。」), on one line: an operation's summary."""
    line = " ".join(text.split("\n\n")[0].split())
    head, sep, _ = line.partition("。")
    return head if sep else line


def document(schema: Schema) -> set[str]:
    """Fill in what FastAPI left without a description; returns the glossary entries used (for the test)."""
    used: set[str] = set()
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            _document_operation(operation, used)
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if "enum" in component and not component.get("description") and name in ENUMS:
            component["description"] = ENUMS[name]
            used.add(f"enum:{name}")
        for field, prop in component.get("properties", {}).items():
            if prop.get("description"):
                continue
            for key in (f"{name}.{field}", field):
                if key in FIELDS:
                    prop["description"] = FIELDS[key]
                    used.add(key)
                    break
    return used


def _document_operation(operation: Schema, used: set[str]) -> None:
    description = operation.get("description") or ""
    if description:
        operation["summary"] = first_sentence(description)
    for parameter in operation.get("parameters", []):
        name, said = parameter["name"], parameter.get("description")
        if name in PARAMETERS and (not said or said == PATH_ID):  # PathId's bounds alone say nothing of what
            parameter["description"] = PARAMETERS[name] + (f"（1〜{ID_MAX}）" if said else "")
            used.add(f"parameter:{name}")
    example = EXAMPLES.get(operation.get("operationId", ""))
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if example is not None and content is not None:
        content["example"] = example
        used.add(f"example:{operation['operationId']}")


def install(app: FastAPI) -> Callable[[], Schema]:
    """Make `app.openapi()` return the documented schema (generated once, as FastAPI caches it)."""
    generate = app.openapi

    def documented() -> Schema:
        if app.openapi_schema is None:
            document(generate())  # FastAPI's generate() stores the schema in app.openapi_schema
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = documented  # type: ignore[method-assign]
    return documented
