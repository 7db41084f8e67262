"""The admin pages' Japanese wording (api/web/admin_orgs.py, api/web/admin_accounts.py)."""

from __future__ import annotations

from ..models import OrgKind

ADMIN_ONLY = "このページは管理者のためのものです。"
ORG_KINDS = {OrgKind.municipality: "自治体", OrgKind.company: "企業", OrgKind.university: "大学",
             OrgKind.other: "その他"}
CREATABLE_KINDS = (OrgKind.municipality, OrgKind.company, OrgKind.university)  # the three; "other" stays API
ORG_FIELDS = {"name": "組織の名前", "kind": "種類", "prefecture_code": "都道府県",
              "municipality_code": "キャンパス・所在地の市区町村", "name_en": "英語の名前",
              "liaison_office": "連携窓口の名前", "liaison_url": "連携窓口の URL",
              "liaison_email": "連携窓口のメール", "liaison_phone": "連携窓口の電話", "page": "ページ"}
ACCOUNT_FIELDS = {"name": "アカウント名", "role": "役割", "organisation_id": "所属組織",
                  "researcher_id": "研究者", "liaison_office": "産学連携窓口", "expires_days": "有効期限（日数）",
                  "account_id": "アカウント", "label": "ラベル", "_": "入力"}
NUMBER = "数字で入力してください。"
ROLE_CHOICE = "役割は一覧から選んでください。"
KIND_CHOICE = "種類は 自治体・企業・大学 から選んでください。"
TOKEN_WARNING = ("このトークンは今だけ表示します。サーバーにはハッシュだけを保存するので、この画面を離れると二度と"
                 "表示できません。いますぐコピーして、本人に安全な方法で渡してください。")
