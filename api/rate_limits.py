"""Fair use: per-account rate limits on the requests that match and the requests that write.

Two budgets per account, set by MATCHER_RATE_LIMIT_MATCH and MATCHER_RATE_LIMIT_WRITE (api/settings.py):

- `match`: POST /needs (it matches at once), POST /needs/{id}/matches, GET /seeds/{id}/needs, and the pages
  that show the same results (a need's results page and its htmx fragment, a seed's page);
- `write`: POST/PATCH/DELETE of needs, seeds, researchers and organisations, and the pages' forms that do so.

The key is the signed-in account, whether it came as an API bearer token or through the pages' session, so
one account cannot multiply its budget with several tokens or a browser, and callers behind one address
(a city hall's proxy) do not share one. Over the limit the request is refused, before it is read any further,
with a Japanese 429 and `Retry-After` (api/errors.RateLimited): JSON for the API, an HTML page for the pages.

Counting is the `limits` library's moving window, in this process's memory: with N worker processes the
effective limit is N times the setting, until a shared store (e.g. Redis) takes its place.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Literal

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from .deps import current_account
from .errors import ErrorResponse, RateLimited
from .models import Account, stored_id
from .settings import Settings

Budget = Literal["match", "write"]

UNITS = {"second": "秒", "minute": "分", "hour": "時間", "day": "日", "month": "か月", "year": "年"}
MESSAGES: dict[Budget, str] = {
    "match": "照合の回数が上限（{limit}）に達しました。{retry}秒ほど待ってから、もう一度お試しください。",
    "write": "登録・変更の回数が上限（{limit}）に達しました。{retry}秒ほど待ってから、もう一度お試しください。",
}



def too_many(description: str) -> dict[int | str, dict[str, Any]]:
    """The documented 429 of a route (OpenAPI), with its Retry-After header."""
    retry_after = {"description": "もう一度試せるまでの秒数", "schema": {"type": "integer"}}
    return {429: {"model": ErrorResponse, "description": description, "headers": {"Retry-After": retry_after}}}


RATE_LIMITED_RESPONSE = too_many("アカウントごとの回数の上限を超えました。Retry-After 秒後にもう一度お試しください。")


def japanese_limit(item: RateLimitItem) -> str:
    """'30/minute' as the message says it: 1分あたり30回."""
    unit = UNITS.get(item.GRANULARITY.name, item.GRANULARITY.name)
    return f"{item.multiples}{unit}あたり{item.amount}回"


class RateLimits:
    """The app's two budgets and their counts (one instance per app, on `app.state.rate_limits`)."""

    def __init__(self, settings: Settings):
        self.enabled = settings.rate_limit_enabled
        self._items: dict[Budget, RateLimitItem] = {"match": parse(settings.rate_limit_match),
                                                    "write": parse(settings.rate_limit_write)}
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def charge(self, budget: Budget, account: Account) -> None:
        """Count one request of `budget` for `account`; refuse it with RateLimited when the window is full."""
        if not self.enabled:
            return
        item, key = self._items[budget], str(stored_id(account))
        if self._limiter.hit(item, budget, key):
            return
        reset_at = self._limiter.get_window_stats(item, budget, key).reset_time
        retry = max(1, math.ceil(reset_at - time.time()))
        raise RateLimited(MESSAGES[budget].format(limit=japanese_limit(item), retry=retry), retry)


def charging(budget: Budget, who: Callable[..., Account]) -> Any:
    """A route dependency that charges `budget` to the account `who` resolves (the bearer token's, or the
    pages' session's); FastAPI resolves `who` once per request, so the route's own use of it costs nothing."""

    def charge(request: Request, account: Account = Depends(who)) -> None:
        limits: RateLimits = request.app.state.rate_limits
        limits.charge(budget, account)

    return Depends(charge)


# the API's dependencies: `dependencies=[MATCHES]` on a route
MATCHES = charging("match", current_account)
WRITES = charging("write", current_account)
