"""Documented caps on what a request may carry (README, "API"). One place, used by models and routes."""

TITLE_MAX_CHARS = 200
TEXT_MAX_CHARS = 10_000
NAME_MAX_CHARS = 200
KEYWORDS_MAX = 20
KEYWORD_MAX_CHARS = 50
TOP_K_MAX = 50
PAGE_LIMIT_MAX = 200
EXTERNAL_ID_MAX_CHARS = 100  # a seed's id in its university's シーズ集 (bulk import)
PAGE_LIMIT_DEFAULT = 50
# Ids in paths and bodies: PostgreSQL's INTEGER holds up to 2^31-1 and SQLite's up to 2^63-1; one bound for both,
# so a larger id is a Japanese 422 on either, never an OverflowError or "integer out of range" (issue 14)
ID_MAX = 2**31 - 1
