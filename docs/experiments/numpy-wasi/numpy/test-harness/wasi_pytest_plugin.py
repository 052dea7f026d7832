"""pytest plugin for running numpy's tests in the WASI guest.

pytest's capfd/capfdbinary fixtures redirect file descriptors with os.dup,
which WASI does not have; a failing capfd left pytest's capturing broken for
every later test. Tests using them are skipped instead.
"""
import pytest


@pytest.fixture
def capfd():
    pytest.skip("capfd needs os.dup, which WASI does not have")


@pytest.fixture
def capfdbinary():
    pytest.skip("capfdbinary needs os.dup, which WASI does not have")


# pytest's tmp_path/tmpdir check the owner of their base directory against
# os.getuid(), which WASI's os module lacks; WASI's stat reports uid 0.
import os
if not hasattr(os, "getuid"):
    os.getuid = lambda: 0


# Several test modules import ctypes or mmap at module level (neither exists
# in WASI), so none of their tests would run. While a test module is being
# collected, stand-ins are importable; anything taken from them raises
# ImportError when called, so the tests that need ctypes/mmap fail, the
# others run. numpy itself was imported before and saw no ctypes.
import sys
import types


class _Unavailable:
    def __init__(self, *args, **kwargs):
        raise ImportError("ctypes and mmap are not available in WASI")


def _standin(name):
    m = types.ModuleType(name)
    m.__getattr__ = lambda attr: _Unavailable
    return m


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    added = []
    if isinstance(collector, pytest.Module):
        for name in ("ctypes", "mmap"):
            if name not in sys.modules:
                sys.modules[name] = _standin(name)
                added.append(name)
    try:
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)
