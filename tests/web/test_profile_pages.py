"""The researcher's profile pages (issue 15): editing name, department, position, researchmap and KAKEN and each
contact field's visibility, shown back after saving; the public page shows what each reader may see."""

from __future__ import annotations

from .conftest import sign_in


def save(client, csrf, **fields):
    data = {"csrf": csrf, "name": "高田 誠", "department": "工学研究科", "position": "准教授",
            "email": "takada@example.ac.jp", "email_visibility": "private", "phone_visibility": "private", **fields}
    return client.post("/my/profile", data=data, follow_redirects=False)


def test_the_researcher_edits_the_profile_and_sees_the_choices_back(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.researcher)
    form = page_client.get("/my/profile").text
    assert "研究者情報" in form and 'name="kaken_id"' in form
    saved = save(page_client, csrf, researchmap_id="https://researchmap.jp/takada_m", kaken_id="12345678",
                 email_visibility="registered")
    assert saved.status_code == 303 and saved.headers["location"].endswith("/my/profile?saved=1")
    shown = page_client.get("/my/profile?saved=1").text
    assert "保存しました" in shown and "メールアドレスは「ログインした利用者にだけ見せる」" in shown
    assert 'value="takada_m"' in shown and "電話番号は「見せない（本人と管理者だけ）」" in shown


def test_a_bad_kaken_number_is_refused_in_japanese_and_what_was_typed_stays(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.researcher)
    refused = save(page_client, csrf, kaken_id="1234", department="新しい部局")
    assert refused.status_code == 422 and "研究者番号（8桁の数字）" in refused.text
    assert 'value="新しい部局"' in refused.text


def test_the_public_page_shows_links_and_only_the_contacts_a_reader_may_see(page_client, page_actors):
    csrf = sign_in(page_client, page_actors.researcher)
    assert save(page_client, csrf, researchmap_id="takada_m", email_visibility="registered").status_code == 303
    researcher = page_actors.researcher_id
    own = page_client.get(f"/researchers/{researcher}").text
    assert "あなたの設定" in own
    sign_in(page_client, page_actors.poster)
    seen = page_client.get(f"/researchers/{researcher}").text
    assert 'href="https://researchmap.jp/takada_m"' in seen and "takada@example.ac.jp" in seen  # registered: signed in
    assert "あなたの設定" not in seen and "公開中のシーズ" in seen
    csrf = sign_in(page_client, page_actors.researcher)
    assert save(page_client, csrf, email_visibility="private").status_code == 303
    sign_in(page_client, page_actors.poster)
    assert "takada@example.ac.jp" not in page_client.get(f"/researchers/{researcher}").text


def test_only_a_researcher_account_has_a_profile_to_edit(page_client, page_actors):
    sign_in(page_client, page_actors.poster)
    assert page_client.get("/my/profile").status_code == 403
