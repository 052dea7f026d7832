"""Globals kept between executions of one session (auto_persist_globals).

A sandbox with auto_persist_globals runs its session's executions in the
library's kept state (`keep_state`): a live interpreter holds every global,
import and object from one execution to the next, and a failed execution
is rolled back. On top of that, as the contract asks, the globals that JSON
can hold are saved after each successful execution in a file in the
workspace, `.session_state.json`, and restored from it before the next: so
they come back even when the interpreter that held them is gone (the Python
process that ran it ended). The helpers are text transforms of the
submitted code, run inside the guest (the host never evaluates the guest's
data); they leave no names of their own behind.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Tuple

STATE_FILE_NAME = ".session_state.json"


def is_serializable(value: Any) -> bool:
    """Whether JSON can hold `value` exactly as it is."""
    try:
        return json.loads(json.dumps(value)) == value
    except (TypeError, ValueError, OverflowError):
        return False


def filter_serializable_globals(globals_dict: Dict[str, Any]) -> Dict[str, Any]:
    """The user's globals (no _private names, no modules, functions or
    classes) that JSON can hold."""
    return {name: value for name, value in globals_dict.items()
            if not name.startswith("_") and is_serializable(value)}


def load_state_code(state_file: str = f"/app/{STATE_FILE_NAME}") -> str:
    """Guest code that restores the saved globals, if any, that the
    interpreter does not hold already (a kept state's own objects stay
    themselves)."""
    return (
        "import json as _sc_json, os as _sc_os\n"
        f"if _sc_os.path.exists({state_file!r}):\n"
        f"    with open({state_file!r}, encoding='utf-8') as _sc_f:\n"
        "        globals().update({_k: _v for _k, _v in _sc_json.load(_sc_f).items()\n"
        "                          if _k not in globals()})\n"
        "    del _sc_f\n"
        "del _sc_json, _sc_os\n"
    )


def save_state_code(state_file: str = f"/app/{STATE_FILE_NAME}") -> str:
    """Guest code that saves the globals JSON can hold."""
    return (
        "import json as _sc_json\n"
        "def _sc_keep(_v):\n"
        "    try:\n"
        "        return _sc_json.loads(_sc_json.dumps(_v)) == _v\n"
        "    except (TypeError, ValueError, OverflowError):\n"
        "        return False\n"
        "_sc_state = {_k: _v for _k, _v in list(globals().items())\n"
        "             if not _k.startswith('_') and _sc_keep(_v)}\n"
        f"with open({state_file!r}, 'w', encoding='utf-8') as _sc_f:\n"
        "    _sc_json.dump(_sc_state, _sc_f)\n"
        "del _sc_json, _sc_keep, _sc_state, _sc_f\n"
    )


def create_state_helpers(guest_mount_path: str = "/app") -> Tuple[str, str]:
    """(load code, save code) for the state file under `guest_mount_path`."""
    state_file = f"{guest_mount_path.rstrip('/')}/{STATE_FILE_NAME}"
    return load_state_code(state_file), save_state_code(state_file)


def wrap_stateful_code(code: str, guest_mount_path: str = "/app") -> str:
    """`code` between restoring and saving the state. The user's code runs
    as written (compiled from its own text, so tracebacks show its lines);
    the state is saved only when it finishes without an exception."""
    load, save = create_state_helpers(guest_mount_path)
    script = f"{guest_mount_path.rstrip('/')}/user_code.py"
    return (
        load
        + f"exec(compile({code!r}, {script!r}, 'exec'), globals())\n"
        + save
    )
