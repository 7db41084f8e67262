"""The Japanese wording of the pages that is not in the templates: names of choices, field labels, messages."""

from __future__ import annotations

from ..models import ContactVisibility, NeedVisibility, Role, SeedVisibility, Status

ROLE_NAMES = {Role.poster: "ニーズ投稿者", Role.researcher: "研究者", Role.coordinator: "コーディネーター",
              Role.admin: "管理者"}
SCOPES = {"all": "すべて", "cross-region": "地域外のみ", "in-region": "地域内のみ"}
LEVELS = {"university": "大学ごと", "researcher": "研究者ごと", "seed": "シーズごと"}
NEED_VISIBILITY = {NeedVisibility.public: "公開（ログインした利用者が読めます）",
                   NeedVisibility.confidential: "非公開（自分とコーディネーター・管理者だけが読めます）"}
SEED_VISIBILITY = {SeedVisibility.public: "公開", SeedVisibility.registered: "ログイン利用者に公開",
                   SeedVisibility.private: "下書き（自分だけ。照合の対象になりません）"}
STATUS_NAMES = {Status.active: "有効", Status.withdrawn: "取り下げ済み"}
FIELD_LABELS = {"title": "タイトル", "description": "内容", "summary": "概要", "prefecture_code": "都道府県",
                "market_areas": "市場領域", "collaboration": "連携の形", "visibility": "公開範囲",
                "keywords": "キーワード", "readiness": "研究の段階",
                "municipality_code": "市区町村"}

CONTACT_VISIBILITY = {ContactVisibility.public: "誰にでも見せる",
                      ContactVisibility.registered: "ログインした利用者にだけ見せる",
                      ContactVisibility.private: "見せない（本人と管理者だけ）"}
PROFILE_LABELS = {"name": "氏名", "kana": "よみがな", "department": "所属部局", "position": "職名",
                  "researchmap_id": "researchmap", "kaken_id": "KAKEN の研究者番号", "email": "メールアドレス",
                  "phone": "電話番号", "email_visibility": "メールアドレスの公開範囲",
                  "phone_visibility": "電話番号の公開範囲"}

# ---- messages -----------------------------------------------------------------------------------------
CSRF_MESSAGE = ("フォームの有効期限が切れたか、このサイト以外から送信されました。"
                "ページを読み込み直してから、もう一度送信してください。")
TOKEN_MISSING = "APIトークンを入力してください。"
TOKEN_REFUSED = "このAPIトークンではログインできません（誤り・失効・停止のいずれか）。管理者に確認してください。"
POSTER_ONLY = "ニーズを投稿できるのは、ニーズ投稿者（自治体・企業）と管理者のアカウントです。"
RESEARCHER_ONLY = "シーズを登録できるのは、研究者情報が結び付いた研究者のアカウントです。"
PROFILE_ONLY = "このページは、研究者情報が結び付いた研究者のアカウントのためのものです。"
COORDINATOR_ONLY = "このページはコーディネーターと管理者のためのものです。"
BAD_REQUEST_VALUES = "URL またはフォームの値に誤りがあります。"
FILTER_REFUSED = "絞り込みの条件に誤りがあります（{fields}）。選び直してください。"
PREFECTURE_MISSING = "都道府県を選んでください。"
FILL_IN = "入力してください。"
ERROR_TITLES = {401: "ログインが必要です", 403: "この操作はできません", 404: "見つかりません",
                409: "すでにその状態です", 413: "送信内容が大きすぎます", 422: "入力内容に誤りがあります",
                429: "混み合っています", 503: "しばらくお待ちください"}
ERROR_TITLE = "エラーが発生しました"

# ---- needs: the list's search, a need's results and their export ---------------------------------------
SEARCH_LABELS = {"q": "キーワード", "prefecture": "都道府県", "region": "地域", "market_area": "市場領域",
                 "poster_kind": "投稿者の種類", "posted_from": "投稿日（から）", "posted_to": "投稿日（まで）",
                 "page": "ページ"}
SEED_SEARCH_LABELS = {"q": "キーワード", "university": "大学名", "prefecture": "都道府県", "region": "地域",
                      "market_area": "市場領域", "readiness": "研究の段階", "page": "ページ"}
PAGE_NUMBER = "ページは 1 以上の整数で指定してください。"
SEARCH_REFUSED = "検索の条件に誤りがあります。各項目のメッセージを確認してください。"
RESULT_FILTER_LABELS = {"scope": "範囲", "level": "単位", "sort": "並べ替え", "top_k": "候補の数",
                        "include_prefectures": "都道府県", "include_regions": "地域", "market_areas": "市場領域"}
PAGE_REFUSED = "そのページはありません（1〜{pages}ページ）。"
EXPORT_FORMATS = {"csv": "CSV（BOM付き UTF-8）", "xlsx": "Excel（XLSX）"}
EXPORT_FORMAT_REFUSED = "書き出しの形式は csv か xlsx です。"

# ---- the coordinator's reports ---------------------------------------------------------------------
REPORT_FORMATS = {"html": "HTML（ブラウザで開くレポート）", "xlsx": "Excel（XLSX、表ごとにシート）",
                  "csv": "CSV（表ごとに1ファイル）", "pdf": "PDF（印刷・配布用）", "json": "JSON（データ連携用）"}
CSV_ENCODINGS = {"utf-8-sig": "UTF-8（BOM付き。多くの表計算ソフト・新しい Excel）",
                 "cp932": "Shift_JIS（cp932。古い Excel 向け。表せない文字は〓に置き換え）"}
JOB_STATUS_NAMES = {"queued": "待機中", "running": "作成中", "succeeded": "完了", "failed": "失敗"}
REPORT_LABELS = {"regions": "地域ブロック", "prefectures": "都道府県", "market_areas": "市場領域", "since": "開始日",
                 "until": "終了日", "formats": "出力形式", "unmet_threshold": "未充足とする内容の近さ",
                 "assignment_cap": "1大学あたりの上限", "csv_encoding": "CSV の文字コード", "sort": "並べ替え",
                 "_": "入力"}
DATE_FORMAT = "日付は 2026-04-01 の形で入力してください。"
THRESHOLD_FORMAT = "0〜1 の数で入力してください（例: 0.875）。"
REPORT_MESSAGES = {  # page wording for the pydantic error types the generic table leaves vague
    "date_parsing": DATE_FORMAT,
    "date_from_datetime_parsing": DATE_FORMAT,
    "date_from_datetime_inexact": DATE_FORMAT,
    "float_parsing": THRESHOLD_FORMAT,
    "int_parsing": "1以上の整数で入力してください。",
    "int_from_float": "1以上の整数で入力してください。",
}
NO_FORMAT = "出力形式を1つ以上選んでください。"
PERIOD_BACKWARDS = "終了日は開始日より後の日付にしてください（終了日の前日までが対象です）。"
FILE_LABELS = {"report.html": "HTML レポート", "report.pdf": "PDF", "report.xlsx": "Excel（XLSX）",
               "report.json": "JSON"}

# ---- introduction requests, feedback, notifications (issue 15) ---------------------------------------
INTRODUCTION_STATUS = {"pending": "回答待ち", "accepted": "承諾", "declined": "辞退"}
PARTNER_LEVELS = {"university": "大学", "researcher": "研究者", "seed": "シーズ"}
RECEIVING_RESEARCHERS_ONLY = "紹介依頼の受け取りを選べるのは、研究者情報が結び付いた研究者のアカウントです。"
FEEDBACK_LABELS = {True: "役に立った", False: "役に立たなかった"}
# issue 15: standing alerts
ALERT_LEVEL_REFUSED = "知らせる近さは「とても近い」「近い」「関連あり」から選んでください。"
