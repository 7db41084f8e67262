"""Documented caps on what a request may carry (README, "API"). One place, used by models and routes."""

TITLE_MAX_CHARS = 200
TEXT_MAX_CHARS = 10_000
NAME_MAX_CHARS = 200
KEYWORDS_MAX = 20
KEYWORD_MAX_CHARS = 50
TOP_K_MAX = 50
PAGE_LIMIT_MAX = 200
PAGE_LIMIT_DEFAULT = 50
