"""How much of its fuel budget an execution used, and why it may have used a lot.

The status thresholds are the library's (AnalyseFuel in snakecage/sandbox.h):
efficient < 50 %, moderate < 75 %, warning < 90 %, critical < 100 %,
exhausted at 100 %; `unknown` without a count.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from . import _native

# Packages whose import alone costs much fuel, as a traceback names them.
HEAVY_PACKAGES = ("numpy", "pandas", "matplotlib", "scipy", "sympy", "dateutil", "pytz",
                  "zoneinfo", "decimal", "json", "csv", "re")

_RECOMMENDATIONS = {
    "efficient": "Fuel use is well within the budget.",
    "moderate": "Fuel use is moderate; the budget leaves room.",
    "unknown": "No fuel count was reported.",
}


def analyze_fuel_usage(consumed: Optional[int], budget: int, stderr: str = "",
                       is_cached_import: bool = False) -> Dict[str, Any]:
    """{consumed, budget, utilization_percent (2 dp), status, recommendation,
    likely_causes}."""
    if consumed is None or budget <= 0:
        return {"consumed": consumed, "budget": budget, "utilization_percent": 0.0,
                "status": "unknown", "recommendation": _RECOMMENDATIONS["unknown"],
                "likely_causes": []}
    exhausted = consumed >= budget
    percent, status = _native.analyse_fuel(consumed, budget, exhausted)
    percent = round(100.0 if exhausted else percent, 2)
    if status in ("warning", "critical", "exhausted"):
        suggested = budget * 2 if status != "exhausted" else budget * 4
        recommendation = (f"Fuel use is {status} ({percent}% of {budget}): increase fuel_budget "
                          f"to at least {suggested} or make the code do less work.")
    else:
        recommendation = _RECOMMENDATIONS[status]
    causes: List[str] = []
    packages = detect_heavy_packages(stderr)
    if packages and not is_cached_import:
        causes.append("importing " + ", ".join(packages))
    if detect_large_dataset_processing(consumed, packages):
        causes.append("processing a large dataset")
    if exhausted:
        causes.append("an endless or very long loop")
    return {"consumed": consumed, "budget": budget, "utilization_percent": percent,
            "status": status, "recommendation": recommendation, "likely_causes": causes}


_HEAVY = re.compile(r"(?:^|[\s/'\"])(" + "|".join(map(re.escape, HEAVY_PACKAGES))
                    + r")(?=[./'\"\s]|$)", re.MULTILINE)


def detect_heavy_packages(stderr: str) -> List[str]:
    """The heavy packages a traceback in `stderr` mentions, in HEAVY_PACKAGES order."""
    if not stderr:
        return []
    named = set(_HEAVY.findall(stderr))
    return [name for name in HEAVY_PACKAGES if name in named]


def detect_large_dataset_processing(fuel_consumed: int, packages: List[str]) -> bool:
    """True when the fuel spent is far beyond what the imports alone cost
    (over 10^10 operators, or 2 * 10^9 without heavy packages)."""
    threshold = 10_000_000_000 if packages else 2_000_000_000
    return fuel_consumed > threshold
