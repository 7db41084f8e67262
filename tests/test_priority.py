"""Short requests first (matcher/priority.py): a long passage encoding waits, between its pieces, while a
match runs; it gives the same vector as an encoding in one batch. Checked by event order, never by timing."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from matcher.embed import Encoder, token_chunks
from matcher.priority import ForegroundGate


@pytest.mark.parametrize(("counts", "budget", "chunks"), [
    ([], 500, []),
    ([100], 500, [(0, 1)]),
    ([200, 200, 200], 500, [(0, 2), (2, 3)]),
    ([500, 500, 120], 500, [(0, 1), (1, 2), (2, 3)]),
    ([900, 10], 500, [(0, 1), (1, 2)]),  # a piece over the budget goes alone
])
def test_token_chunks_stay_within_the_budget(counts, budget, chunks):
    assert token_chunks(counts, budget) == chunks


class RecordingGate(ForegroundGate):
    """A gate that says when background work first reaches it."""

    def __init__(self) -> None:
        super().__init__(max_wait_s=60.0)
        self.reached = threading.Event()
        self.steps = 0

    def step_aside(self) -> float:
        self.steps += 1
        self.reached.set()
        return super().step_aside()


@pytest.fixture
def gated(encoder):
    """The session's encoder with a recording gate, for one test."""
    shared = encoder.gate
    encoder.gate = RecordingGate()
    yield encoder
    encoder.gate = shared


def test_a_long_passage_waits_for_a_running_match_and_gives_the_same_vector(gated: Encoder):
    text = "稲わらともみ殻をガス化して農業ハウスの熱源にしたい。" * 240  # about 6,200 characters: several pieces
    gate = gated.gate
    assert isinstance(gate, RecordingGate) and len(gated.windows(text)) >= 5
    result: list[np.ndarray] = []
    with gate.foreground():  # a match is running
        writer = threading.Thread(target=lambda: result.append(gated.encode_passages([text])[0]))
        writer.start()
        assert gate.reached.wait(timeout=120), "the writer never reached the gate"
        assert writer.is_alive() and not result  # it waits: no piece was encoded while the match ran
    writer.join(timeout=300)
    assert result, "the writer did not finish once the match ended"
    windows = [n for _, n in gated.windows(text)]
    assert gate.steps == len(token_chunks(windows, gated.piece_tokens)) > 1  # it stepped aside before every piece
    one_batch = gated.encode_passages([text], show_progress=True)[0]  # with a bar: one batch, no gate
    assert np.allclose(result[0], one_batch, atol=1e-5)


def test_a_writer_is_slowed_by_matches_but_never_stopped():
    gate = ForegroundGate(max_wait_s=0.05)
    with gate.foreground():
        gate.step_aside()  # returns although the foreground request is still running
        assert gate.running == 1
    assert gate.running == 0
    assert gate.waited_s > 0


def test_pieces_of_several_texts_come_back_in_the_texts_order(gated: Encoder):
    """Background pieces group texts by length; each vector must still be its own text's."""
    texts = ["酒蔵の排水処理", "雪下ろしの省力化を進めたい。" * 30, "漁港のドローン点検", "果樹の収穫ロボット。" * 12]
    pieced = gated.encode_passages(texts)
    one_batch = gated.encode_passages(texts, show_progress=True)
    assert gated.gate.steps >= 1
    assert np.allclose(pieced, one_batch, atol=1e-5)
    assert not np.allclose(pieced[0], pieced[1], atol=1e-3)  # distinct texts: the check can tell rows apart
