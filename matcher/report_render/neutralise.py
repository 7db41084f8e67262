"""Spreadsheet formula-injection neutralisation, shared by CSV and XLSX.

A text cell is neutralised (prefixed with a single quote) when, after folding
full-width forms with NFKC (＝＋－＠ → = + - @) and ignoring leading spaces,
it starts with = + - @, or when it starts with a tab, carriage return or line feed
(OWASP "CSV injection"). Numbers stay numbers: -0.5 as a float is not text.
"""

from __future__ import annotations

import unicodedata

TRIGGERS = ("=", "+", "-", "@")
CONTROL = ("\t", "\r", "\n")  # a leading line break hides the formula on the next line


def needs_neutralising(text: str) -> bool:
    if not text:
        return False
    if text[0] in CONTROL:
        return True
    folded = unicodedata.normalize("NFKC", text).lstrip(" \u3000")
    # minus-like characters NFKC leaves alone
    folded = folded.replace("\u2212", "-").replace("\u2010", "-").replace("\uff0d", "-")
    return folded[:1] in TRIGGERS or folded[:1] in CONTROL


def neutralise(value: object) -> object:
    if isinstance(value, str) and needs_neutralising(value):
        return "'" + value
    return value
