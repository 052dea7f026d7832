"""snakecage: run untrusted Python in a WebAssembly sandbox.

The API of llm-wasm-sandbox (import name `sandbox`): replace `sandbox` with
`snakecage` in the imports. Every execution runs in a fresh child of a
pre-initialised CPython 3.11 compiled to WebAssembly, with exact fuel, a
memory cap, output caps, a timeout and the kernel's confinement, through the
same C++ library as the `snakecage` CLI.

    from snakecage import create_sandbox, ExecutionPolicy
    sandbox = create_sandbox(policy=ExecutionPolicy(fuel_budget=2_000_000_000))
    result = sandbox.execute("print(2 + 2)")
    result.stdout  # '4\\n'
"""

from . import _native
from .error_templates import classify_error_from_stderr, classify_error_from_trap, get_error_guidance
from .fuel_patterns import analyze_fuel_usage
from .logger import SandboxLogger
from .models import (ExecutionPolicy, PolicyValidationError, PruneResult, RuntimeType,
                     SandboxExecutionError, SandboxResult, SessionMetadata)
from .policies import DEFAULT_POLICY, load_policy
from .sandbox import BaseSandbox, PythonSandbox, create_sandbox
from .sessions import (delete_session_path, delete_session_workspace, get_session_metadata,
                       list_session_files, prune_sessions, read_session_file, write_session_file)
from .state import (create_state_helpers, filter_serializable_globals, is_serializable,
                    load_state_code, save_state_code, wrap_stateful_code)
from .storage import DiskStorageAdapter, StorageAdapter

__version__ = _native.version

__all__ = [
    "BaseSandbox",
    "PythonSandbox",
    "ExecutionPolicy",
    "PolicyValidationError",
    "SandboxExecutionError",
    "RuntimeType",
    "SandboxResult",
    "SandboxLogger",
    "SessionMetadata",
    "PruneResult",
    "DiskStorageAdapter",
    "StorageAdapter",
    "create_sandbox",
    "load_policy",
    "list_session_files",
    "read_session_file",
    "write_session_file",
    "delete_session_path",
    "delete_session_workspace",
    "prune_sessions",
    "get_session_metadata",
    "is_serializable",
    "filter_serializable_globals",
    "save_state_code",
    "load_state_code",
    "wrap_stateful_code",
    "create_state_helpers",
]
