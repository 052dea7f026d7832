"""Builds snakecage's Python package against the C++ library.

Where the library comes from, in this order:
  SNAKECAGE_PREFIX     an installed prefix (`cmake --install`, the .deb's /usr):
                       the extension links against PREFIX/lib/libsnakecage.so
                       and the package uses that installation.
  SNAKECAGE_BUILD_DIR  a CMake build tree (default: ../build beside this
                       directory): it is installed into the package itself
                       (snakecage/_installation: the library, the zygote, the
                       guest's standard library and packages), so the package
                       works from anywhere once installed, with or without
                       the build tree.

Needs only Debian's packages (python3-setuptools, python3-pybind11,
pybind11-dev, nlohmann-json3-dev): `pip install --no-build-isolation ./python`.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pybind11
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
INSTALLATION_DIR = "_installation"  # inside the package, for a build tree
# What of an installation the package needs at run time.
RUNTIME_PARTS = ("lib", "libexec/snakecage", "share/snakecage")


def fail(message):
    sys.exit(f"snakecage setup: {message}")


def library_source():
    """("prefix", an installed prefix) or ("build", a CMake build tree)."""
    prefix = os.environ.get("SNAKECAGE_PREFIX")
    if prefix:
        path = Path(prefix).resolve()
        if not (path / "include/snakecage/sandbox.h").is_file():
            fail(f"SNAKECAGE_PREFIX={prefix}: no include/snakecage/sandbox.h there "
                 "(is it an installed snakecage prefix?)")
        return "prefix", path
    path = Path(os.environ.get("SNAKECAGE_BUILD_DIR", HERE.parent / "build")).resolve()
    if not (path / "CMakeCache.txt").is_file():
        fail(f"SNAKECAGE_BUILD_DIR={path}: not a CMake build tree of snakecage "
             "(run the README's set-up first, or set SNAKECAGE_PREFIX)")
    return "build", path


def library_version(kind, path):
    """kVersion of the library's generated snakecage/version.h."""
    header = path / "include/snakecage/version.h"
    match = re.search(r'kVersion = "([^"]+)"', header.read_text(encoding="utf-8"))
    if not match:
        fail(f"{header}: no kVersion")
    return match.group(1)


def soname_of(library):
    """The DT_SONAME of a shared library (objdump from binutils)."""
    out = subprocess.run(["objdump", "-p", str(library)], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "SONAME":
            return fields[1]
    fail(f"{library}: no SONAME")


class BuildNative(build_ext):
    """Links the extension against an installed prefix, or installs a build
    tree into the package and links against that copy."""

    def build_extension(self, ext):
        kind, path = library_source()
        if kind == "prefix":
            prefix = path
            rpath = str(prefix / "lib")
        else:
            prefix = Path(self.build_temp).resolve() / "installation"
            if prefix.exists():
                shutil.rmtree(prefix)
            subprocess.run(["cmake", "--install", str(path), "--prefix", str(prefix)],
                           check=True, stdout=subprocess.DEVNULL)
            package_dir = Path(self.get_ext_fullpath(ext.name)).resolve().parent
            bundled = package_dir / INSTALLATION_DIR
            if bundled.exists():
                shutil.rmtree(bundled)
            for part in RUNTIME_PARTS:
                shutil.copytree(prefix / part, bundled / part)
            # A wheel keeps no symlinks: of the library only the name the
            # extension loads (its soname, libsnakecage.so.N) stays, a real file.
            soname = soname_of(prefix / "lib/libsnakecage.so")
            for entry in (bundled / "lib").iterdir():
                if entry.name == soname:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            rpath = f"$ORIGIN/{INSTALLATION_DIR}/lib"
        ext.include_dirs += [str(prefix / "include"), pybind11.get_include()]
        ext.library_dirs += [str(prefix / "lib")]
        ext.libraries += ["snakecage"]
        ext.extra_link_args += [f"-Wl,-rpath,{rpath}", "-Wl,--enable-new-dtags"]
        super().build_extension(ext)


native = Extension(
    "snakecage._native",
    sources=["native/native_module.cc"],
    language="c++",
    extra_compile_args=["-std=c++20", "-fvisibility=hidden", "-O2"],
)

setup(
    version=library_version(*library_source()),
    ext_modules=[native],
    cmdclass={"build_ext": BuildNative},
    package_data={"snakecage": ["py.typed"]},
)
