"""The aggregation rules written out plainly, independently of matcher/rank.py: what each must compute."""

REFERENCE = {
    "max": lambda s: s[0],
    "top3": lambda s: sum(s[:3]) / 3,
    "top10": lambda s: sum(s[:10]) / 10,
    "rms10": lambda s: (sum(x * x for x in s[:10]) / 10) ** 0.5,
    "decay": lambda s: sum(0.5**i * x for i, x in enumerate(s[:5])) / sum(0.5**i for i in range(5)),
    "sum": lambda s: sum(s),
}
