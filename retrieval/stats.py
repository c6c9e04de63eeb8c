"""Percentiles of measured figures (latencies), one definition for every report.

Here, in the lowest layer that reports them (the retrieval evaluation), so that the
assistant's evaluations and the benchmarks above use the same one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

logger = logging.getLogger(__name__)


def percentile(values: Iterable[float], q: float, ndigits: int | None = None) -> float | None:
    """The ``q``-th percentile (0 < q <= 100) by nearest rank: the smallest value with at least
    ``q`` % of the values at or below it (p50 of 4 values is the 2nd). None for no values;
    rounded to ``ndigits`` when given."""
    if not 0 < q <= 100:
        raise ValueError(f"percentile: q must be in (0, 100], not {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    value = ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
    return value if ndigits is None else round(value, ndigits)
