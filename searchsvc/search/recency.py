"""Recency, as newsrooms expect it: among articles of similar relevance, the
newer first.

A date decay blended into the score, as Elasticsearch news sites do with a
``function_score`` ``exp`` decay and ``boost_mode: multiply``::

    score × (1 - strength + strength × 0.5 ** (age / half_life))

``age`` is counted in days from the newest article of the index (not from
today, so that an archive that stopped in 2020 still tells its last weeks
from its first years; never from a day after today, so that one article
misdated 2099 does not age all the others). An undated article gets no
boost. The blend reorders the ranking's best candidates only (as the pair
bonus does, :data:`.ranking.BONUS_DEPTH`), within each group: the articles
holding every word stay ahead of those holding some. ``strength`` 0 is pure
relevance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

#: Days after which an article's boost is halved, unless configured.
HALF_LIFE_DAYS = 30.0


@dataclass(frozen=True)
class Recency:
    """How much the date counts: ``strength`` in [0, 1] (0: not at all; 1: an
    article one half-life older keeps half its score), ``half_life_days`` > 0."""

    strength: float = 0.0
    half_life_days: float = HALF_LIFE_DAYS

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"recency strength must be between 0 and 1, not {self.strength}")
        if not self.half_life_days > 0:
            raise ValueError(f"recency half-life must be more than 0 days, not {self.half_life_days}")

    def __bool__(self) -> bool:
        return self.strength > 0

    def factors(self, days: np.ndarray, newest: int) -> np.ndarray:
        """The multiplier of each score, from its article's day (YYYYMMDD, 0
        when undated) and the newest day of the index (YYYYMMDD, 0: none)."""
        out = np.full(len(days), 1.0 - self.strength)
        if not newest:
            return out
        origin = _ordinal(newest)
        for i, day in enumerate(days.tolist()):
            if day:
                age = max(0, origin - _ordinal(day))
                out[i] += self.strength * 0.5 ** (age / self.half_life_days)
        return out


def newest_day(days: np.ndarray, live: np.ndarray, today: date | None = None) -> int:
    """The newest day (YYYYMMDD) of the live articles, never after ``today``; 0 when none is dated."""
    today = today or date.today()
    limit = today.year * 10000 + today.month * 100 + today.day
    dated = days[live & (days > 0) & (days <= limit)]
    return int(dated.max()) if len(dated) else 0


def _ordinal(day: int) -> int:
    try:
        return date(day // 10000, day // 100 % 100, day % 100).toordinal()
    except ValueError:  # a day the index should not hold (month 13): as old as can be
        return 1
