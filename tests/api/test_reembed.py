"""A new model's vectors are computed beforehand, while the service runs; the switch then embeds nothing."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from api.main import create_app
from api.reembed import embed_missing

from ..conftest import CountingEncoder


class RenamedModel(CountingEncoder):
    """The same weights under another name: to the service, another model with vectors of its own."""

    @property
    def name(self) -> str:
        return self.inner.name + "+next"


def test_vectors_for_the_next_model_are_filled_in_and_used_at_the_switch(client, settings, encoder, tmp_path):
    db = client.app.state.db
    next_model = RenamedModel(encoder)
    steps: list[tuple[int, int]] = []
    report = embed_missing(db, next_model, progress=lambda done, total: steps.append((done, total)))
    assert report.embedded == next_model.count() > 0
    assert report.already_stored == 0 and report.texts == report.embedded
    assert steps[-1] == (report.embedded, report.embedded)  # progress reaches the end
    again = embed_missing(db, next_model)
    assert (again.embedded, again.already_stored) == (0, report.texts)  # resumable: nothing done twice

    switched = settings.model_copy(update={"index_dir": tmp_path / "next-model-index", "load_demo": False})
    with TestClient(create_app(switched, encoder=next_model)) as restarted:
        assert restarted.get("/readyz").status_code == 200
        assert next_model.count() == 0  # the start-up on the new model embedded nothing
    shutil.rmtree(tmp_path / "next-model-index", ignore_errors=True)
