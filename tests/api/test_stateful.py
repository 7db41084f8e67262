"""Issue 14, stateful: a hypothesis state machine posts, edits, hides, withdraws and searches needs and seeds as
several users, changes researchers' contact settings, and lets new researchers join and erase all their data,
in any order. After every search:

- every seed in the answer exists in the database and is listed (active, not a draft): what the caller may see,
  and none of an erased researcher's;
- no contact field of a researcher appears beyond the setting the database holds for it;
- the need searched is one the caller may read (others are a 404, checked as such).

On SQLite and PostgreSQL. The researchers who erase themselves are new ones (`join`): erasing the fixture's
accounts would stop every later step.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, rule, run_state_machine_as_test
from sqlmodel import Session, select

from api import models as m
from api.auth import issue_token

API = "/api/v1"
POSTERS = ("poster", "other_poster")
RESEARCHERS = ("researcher", "other_researcher")
TOPICS = ("屋根の雪を融かす地中熱の仕組み", "融雪剤を使わない路面の凍結対策", "雪下ろしを無人で行う小型機械")
VISIBILITY = st.sampled_from(["public", "registered", "private"])


def seeds_in(answer: dict[str, Any]) -> list[dict[str, Any]]:
    partners = [*answer["partners"], *([answer["best_in_region"]] if answer.get("best_in_region") else [])]
    return [hit for partner in partners for hit in partner["seeds"]]


def test_any_sequence_of_writes_keeps_searches_within_the_rules(client, actors):
    researcher_ids = {"researcher": actors.researcher_id, "other_researcher": actors.other_researcher_id}

    class Users(RuleBasedStateMachine):
        needs = Bundle("needs")
        seeds = Bundle("seeds")
        newcomers = Bundle("newcomers")

        @initialize()
        def known(self) -> None:
            self.need_owner: dict[int, str] = {}
            self.need_public: dict[int, bool] = {}
            self.seed_owner: dict[int, str] = {}
            self.erased_seeds: set[int] = set()

        @rule(target=newcomers, topic=st.sampled_from(TOPICS))
        def join(self, topic: str) -> tuple[dict[str, str], int]:
            """A researcher account of its own, with one published seed."""
            with Session(client.app.state.db) as session:
                university = session.exec(select(m.Organisation).where(m.Organisation.kind == m.OrgKind.university)
                                          ).first()
                assert university is not None
                account = m.Account(name="新任", role=m.Role.researcher)
                session.add(account)
                session.flush()
                session.add(m.Researcher(name="新任 研究者", organisation_id=university.id, account_id=account.id))
                session.commit()
                headers = {"Authorization": f"Bearer {issue_token(session, account)}"}
            seed = client.post(f"{API}/seeds", json={"title": topic + "の新しい研究", "summary": topic + "。"},
                               headers=headers)
            assert seed.status_code == 201, seed.text
            return headers, seed.json()["id"]

        @rule(newcomer=consumes(newcomers))
        def erase(self, newcomer: tuple[dict[str, str], int]) -> None:
            headers, seed_id = newcomer
            response = client.delete(f"{API}/researchers/me", params={"confirm": "true"}, headers=headers)
            assert response.status_code == 200, response.text
            self.erased_seeds.add(seed_id)

        @rule(target=needs, owner=st.sampled_from(POSTERS), topic=st.sampled_from(TOPICS), public=st.booleans())
        def post_need(self, owner: str, topic: str, public: bool) -> int:
            body = {"title": topic, "description": topic + "を探しています。", "prefecture_code": "15",
                    "visibility": "public" if public else "confidential"}
            response = client.post(f"{API}/needs", json=body, headers=getattr(actors, owner))
            assert response.status_code == 201, response.text
            need_id: int = response.json()["id"]
            self.need_owner[need_id], self.need_public[need_id] = owner, public
            return need_id

        @rule(target=seeds, owner=st.sampled_from(RESEARCHERS), topic=st.sampled_from(TOPICS),
              draft=st.booleans())
        def post_seed(self, owner: str, topic: str, draft: bool) -> int:
            body = {"title": topic + "の研究", "summary": topic + "を実証する。",
                    "visibility": "private" if draft else "public"}
            response = client.post(f"{API}/seeds", json=body, headers=getattr(actors, owner))
            assert response.status_code == 201, response.text
            seed_id: int = response.json()["id"]
            self.seed_owner[seed_id] = owner
            return seed_id

        @rule(seed=seeds, topic=st.sampled_from(TOPICS), draft=st.booleans())
        def edit_seed(self, seed: int, topic: str, draft: bool) -> None:
            body = {"title": topic + "の改良", "visibility": "private" if draft else "public"}
            response = client.patch(f"{API}/seeds/{seed}", json=body, headers=getattr(actors, self.seed_owner[seed]))
            assert response.status_code == 200, response.text

        @rule(seed=seeds)
        def withdraw_seed(self, seed: int) -> None:
            response = client.delete(f"{API}/seeds/{seed}", headers=getattr(actors, self.seed_owner[seed]))
            assert response.status_code in (200, 204), response.text

        @rule(need=needs, public=st.booleans())
        def switch_need(self, need: int, public: bool) -> None:
            body = {"visibility": "public" if public else "confidential"}
            response = client.patch(f"{API}/needs/{need}", json=body, headers=getattr(actors, self.need_owner[need]))
            assert response.status_code == 200, response.text
            self.need_public[need] = public

        @rule(who=st.sampled_from(RESEARCHERS), email=VISIBILITY, phone=VISIBILITY)
        def set_contact(self, who: str, email: str, phone: str) -> None:
            body = {"email": f"{who}@example.ac.jp", "phone": "000-0000-0000", "email_visibility": email,
                    "phone_visibility": phone}
            response = client.patch(f"{API}/researchers/{researcher_ids[who]}", json=body,
                                    headers=getattr(actors, who))
            assert response.status_code == 200, response.text

        @rule(need=needs, caller=st.sampled_from([*POSTERS, *RESEARCHERS, "coordinator"]))
        def search(self, need: int, caller: str) -> None:
            response = client.post(f"{API}/needs/{need}/matches", json={"top_k": 10}, headers=getattr(actors, caller))
            may_read = self.need_public[need] or caller in (self.need_owner[need], "coordinator")
            if not may_read:
                assert response.status_code == 404, response.text
                return
            assert response.status_code == 200, response.text
            with Session(client.app.state.db) as session:
                for hit in seeds_in(response.json()):
                    assert hit["seed_id"] not in self.erased_seeds, hit
                    seed = session.get(m.Seed, hit["seed_id"])
                    assert seed is not None, hit["seed_id"]
                    assert seed.status == m.Status.active and seed.visibility != m.SeedVisibility.private, hit
                    shown = (hit["researcher"] or {}).get("contact") or {}
                    researcher = session.get_one(m.Researcher, seed.researcher_id)
                    mine = researcher.account_id is not None and caller in RESEARCHERS and \
                        researcher_ids[caller] == researcher.id
                    for field in ("email", "phone"):
                        if shown.get(field) is not None and not mine:
                            assert getattr(researcher, f"{field}_visibility") != m.ContactVisibility.private, \
                                (caller, field, researcher.id)

    run_state_machine_as_test(Users, settings=settings(
        max_examples=15, stateful_step_count=12, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
