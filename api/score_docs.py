"""What the numbers of a match mean: the field descriptions of the match responses (api/schemas.py).

Kept here so that the schemas stay short and one file says, in the API's own words, what the results pages
say in words (api/web/explanations.py, /help/scores).
"""

from __future__ import annotations

from matcher.results import CLOSENESS_BANDS, LOWEST_BAND

_BANDS = "、".join(f"{floor:g} 以上「{name}」" for floor, name in CLOSENESS_BANDS) + f"、それ未満「{LOWEST_BAND}」"
SIMILARITY = ("内容の近さ: ニーズとシーズの文の埋め込みのコサイン類似度（multilingual-e5-small）。"
              f"どのニーズでも同じ物差しで、画面の帯は {_BANDS}")
SEED_SCORE = ("シーズのスコア（0〜1）: このニーズの候補の中で最小〜最大を 0〜1 にそろえた内容の近さと BM25 を"
              "半分ずつ足したもの。同じニーズの中でだけ比べられる")
BM25 = "共通する語の一致の強さ（UniDic の見出し語による BM25、そろえる前の値）"
SEED_TERMS = "一致に最も効いた語（BM25 への寄与の大きい順、最大8語）。シーズの本文に書かれたとおりの表記"
SEED_HIGHLIGHTS = "shared_terms の語がシーズの本文に現れる位置"
PARTNER_SCORE = ("順位付けのスコア（0〜1）: 候補のシーズのスコアをまとめたもの。sort が overall（総合、既定）なら"
                 "上位10件の二乗平均、content（内容重視）なら最も近いシーズのスコアだけ。シーズの数（実績・体制）は"
                 "含まない（signals.track_record に別に示す）。同じニーズ・同じ sort の中でだけ比べられる")
SORT = ("並べ替え: overall（総合。既定。交差検証で採用した順位付け、いまは近いシーズ上位10件の二乗平均）、"
        "content（内容重視。最も近いシーズ1件のスコアだけで並べ、近いシーズの数もシーズの総数も数えない）")
SIGNALS = ("利用者が見比べる2つの信号: content_fit（内容の近さ: 一致したシーズ）と track_record（実績・体制: "
           "いまは登録シーズの数）。大きな大学の有利さが1つの数に隠れないよう、別々に示す")
CONTENT_FIT_WORDS = "内容の近さを言葉で（例: とても近い（最も近いシーズ 0.92、近い以上のシーズ 3件））"
CLOSE_SEEDS = "候補のシーズのうち、内容の近さが「近い」以上（コサイン 0.875 以上）のもの"
TRACK_RECORD_WORDS = "実績・体制を言葉で（例: 登録シーズ 45件）"
SEED_COUNT = ("実績・体制: この連携先が登録しているシーズの数（ニーズに合うかどうかによらない。単位が seed なら"
              "所属大学の数）。順位のスコアには含まない。過去の連携や紹介の実績は、記録されるようになればここに加える")
PARTNER_SIMILARITY = "最も近いシーズの" + SIMILARITY
PARTNER_TERMS = ("一致に最も効いた語（seeds での BM25 への寄与の合計の大きい順、最大8語）。"
                 "ニーズの本文に書かれたとおりの表記")
EXPLANATION = "共通する語、内容の近さと帯、最も近いシーズを1行にまとめた説明"
PARTNER_SEEDS = "一致したシーズ: 最も合うシーズと、そのスコアの一定割合（既定 75%）以上のシーズ（最大3件）"
NEED_HIGHLIGHTS = "示した候補の一致に最も効いた語（最大8語）がニーズの本文に現れる位置"
GAIN = ("地域を越える利点: 最上位の候補の score から、同じ地域で最も合う候補の score を引いた差（同じ物差し。"
        "同じ地域に候補がなければ最上位の score そのもの）。ニーズに都道府県がなければ null")
NEED_SCORE = ("ニーズのスコア（0〜1）: このシーズの候補ニーズの中で最小〜最大を 0〜1 にそろえた内容の近さと BM25 の和。"
              "最上位はほぼ 1 になり、同じシーズの中でだけ比べられる")
NEED_TERMS = "一致に最も効いた語（BM25 への寄与の大きい順、最大8語）。ニーズの本文に書かれたとおりの表記"
DISTANCE_KM = ("距離（km）: ニーズの市区町村と大学の本部所在地の市区町村役所の間の大円距離。どちらかの市区町村が"
               "分からないときは、別の都道府県なら県庁所在地間の距離、同じ都道府県なら null（distance_basis を参照）")
DISTANCE_BASIS = ("distance_km の測り方: municipalities（市区町村どうし）、prefecture_capitals（県庁所在地間。"
                  "市区町村が分からないとき）、same_prefecture（同じ都道府県で市区町村が分からない。距離は示さない）")
DISTANCE_LABEL = "画面に出す距離の表記（例: 約120 km、同じ県内、約44 km（県庁所在地間））"
SPAN_START = "強調する範囲の始まり（本文の文字の位置、0 起点）"
SPAN_END = "強調する範囲の終わり（この位置の文字は含まない）。本文[start:end] が本文に書かれたとおりの語"
SPAN_TERM = "照合に使った見出し語（UniDic の見出し語。本文の表記と違うことがある）"
