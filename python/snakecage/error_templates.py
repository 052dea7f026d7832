"""Which kind of failure an execution ended in, and what to do about it.

The library writes the plain-words guidance (src/sandbox/error_guidance.cc);
this module names the failure kind and shapes the contract's dict:
{error_type, actionable_guidance, related_docs, code_examples}.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

# Sections of snakecage's README.
_DOCS = {
    "OutOfFuel": ["README.md#running-code"],
    "MemoryExhausted": ["README.md#running-code"],
    "Timeout": ["README.md#running-code"],
    "PathRestriction": ["README.md#how-an-execution-runs"],
    "MissingVendoredPackage": ["README.md#packages-in-the-guest"],
    "OutputTruncated": ["README.md#running-code"],
    "WorkspaceFull": ["README.md#running-code"],
}

_TEMPLATES = {
    "OutOfFuel": "The code used its whole fuel budget: make it do less work or raise fuel_budget.",
    "MemoryExhausted": "The code needed more memory than memory_bytes allows: process the data "
                       "in smaller pieces or raise memory_bytes.",
    "Timeout": "The code ran longer than timeout_seconds: make it finish sooner or raise "
               "timeout_seconds.",
    "PathRestriction": "Only the workspace (read-write) and the read-only mounts are reachable: "
                       "read and write files beneath the workspace.",
    "MissingVendoredPackage": "The module is not available in this sandbox and packages cannot "
                              "be installed: use the standard library or a shipped package.",
    "OutputTruncated": "The output passed stdout_max_bytes or stderr_max_bytes and was cut: "
                       "print less, or write large results to a file in the workspace.",
    "WorkspaceFull": "The workspace reached workspace_max_bytes and writes failed with ENOSPC: "
                     "delete files no longer needed, write less, or raise workspace_max_bytes.",
}

_EXAMPLES = {
    "PathRestriction": [{"before": "open('/etc/passwd')", "after": "open('/app/data.txt')",
                         "explanation": "Files live beneath the workspace, /app."}],
    "OutOfFuel": [{"before": "while True:\n    pass", "after": "for _ in range(1000):\n    pass",
                   "explanation": "Bound every loop."}],
}


def classify_error_from_trap(trap_message: Optional[str], fuel_consumed: Optional[int] = None,
                             fuel_budget: Optional[int] = None) -> Optional[str]:
    """OutOfFuel, MemoryExhausted or Timeout from a trap's message (or the
    fuel count reaching the budget); None when it is none of them."""
    message = (trap_message or "").lower()
    if "fuel" in message or (fuel_consumed is not None and fuel_budget
                             and fuel_consumed >= fuel_budget):
        return "OutOfFuel"
    if "memory limit" in message or "memory_limit" in message or "out of memory" in message:
        return "MemoryExhausted"
    if "timeout" in message or "timed out" in message or "wall-clock" in message:
        return "Timeout"
    return None


def classify_error_from_stderr(stderr: str, language: str = "python") -> Optional[str]:
    """MissingVendoredPackage, MemoryExhausted or PathRestriction from a
    Python traceback; None otherwise."""
    if language != "python" or not stderr:
        return None
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if re.match(r"(ModuleNotFoundError|ImportError):", last):
        return "MissingVendoredPackage"
    if last.startswith("MemoryError"):
        return "MemoryExhausted"
    if re.match(r"(PermissionError|FileNotFoundError|OSError).*(Errno (2|13|63|76))", last):
        return "PathRestriction"
    return None


def get_error_guidance(error_type: str, guidance: Optional[str] = None,
                       **context: Any) -> Dict[str, Any]:
    """The contract's guidance dict for `error_type`; `guidance` (the
    library's text for this execution) leads the actionable list."""
    actionable: List[str] = []
    if guidance:
        actionable.append(guidance)
    template = _TEMPLATES.get(error_type)
    if template and not guidance:
        actionable.append(template)
    return {"error_type": error_type, "actionable_guidance": actionable,
            "related_docs": list(_DOCS.get(error_type, [])),
            "code_examples": [dict(e) for e in _EXAMPLES[error_type]]
            if error_type in _EXAMPLES else None}


def error_type_of(metadata: Dict[str, Any], stderr: str = "") -> str:
    """The kind of failure the library's guidance was about, from the
    result's metadata and stderr (in the order the library decides)."""
    reason = metadata.get("trap_reason")
    if reason == "out_of_fuel":
        return "OutOfFuel"
    if reason == "memory_limit":
        return "MemoryExhausted"
    if reason == "timeout":
        return "Timeout"
    if metadata.get("missing_module"):
        return "MissingVendoredPackage"
    if classify_error_from_stderr(stderr) == "MemoryExhausted":
        return "MemoryExhausted"  # memory.grow refused: Python raised MemoryError
    if metadata.get("workspace_writes_refused"):
        return "WorkspaceFull"
    return "PathRestriction"
