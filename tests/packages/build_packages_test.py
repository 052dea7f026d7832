#!/usr/bin/env python3
"""ctest packages.build_packages: guest/build-packages.sh on a private cache.

  1. a pinned .deb that is missing, or whose bytes are not the pinned ones,
     stops the build naming it, and leaves no cache entry;
  2. with the pinned .debs it builds an entry: every package in the lock is
     in packages.json, our patches are applied, no host C extension is left,
     every module has unchecked-hash bytecode naming its guest path, the zone
     database has no symlink leading out, and each package's licence is there;
  3. a second run is a cache hit that leaves the entry as it was.
Exits non-zero with a message on the first check that fails.
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

GUEST_DIST_PACKAGES = "/usr/local/lib/python3.11/dist-packages"


def fail(message):
    sys.exit(f"build_packages_test: {message}")


def run(script, cache, out):
    env = dict(os.environ, SNAKECAGE_CACHE_DIR=str(cache))
    return subprocess.run([str(script), str(out)], env=env, capture_output=True, text=True)


def lock_specs(lock):
    specs = []
    for line in lock.read_text().splitlines():
        if line and not line.startswith("#"):
            spec, sha256 = line.split()
            specs.append((spec, sha256))
    return specs


def deb_name(spec):
    name, version = spec.split("=", 1)
    name, _, arch = name.partition(":")
    return f"{name}_{version.replace(':', '%3a')}_{arch or 'all'}.deb"


def entries(cache):
    root = cache / "packages"
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", type=pathlib.Path, required=True)
    ap.add_argument("--debs", type=pathlib.Path, required=True, help="the fetched, pinned .debs")
    args = ap.parse_args()
    script = args.source_dir / "guest/build-packages.sh"
    specs = lock_specs(args.source_dir / "guest/packages.lock")

    with tempfile.TemporaryDirectory(prefix="snakecage-build-packages-") as tmp:
        tmp = pathlib.Path(tmp)
        cache, out = tmp / "cache", tmp / "out"
        (cache / "debs").mkdir(parents=True)

        # 1. Missing, then tampered.
        r = run(script, cache, out)
        first = specs[0][0]
        if r.returncode == 0 or f"package {first} missing" not in r.stderr:
            fail(f"a missing .deb was not refused by name: {r.returncode} {r.stderr!r}")
        for spec, _ in specs:
            shutil.copy(args.debs / deb_name(spec), cache / "debs" / deb_name(spec))
        tampered = cache / "debs" / deb_name(specs[-1][0])
        good = tampered.read_bytes()
        tampered.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
        r = run(script, cache, out)
        if r.returncode == 0 or "does not have the SHA-256 guest/packages.lock pins" not in r.stderr:
            fail(f"a tampered .deb was not refused: {r.returncode} {r.stderr!r}")
        if entries(cache):
            fail(f"a refused build left cache entries: {entries(cache)}")
        tampered.write_bytes(good)

        # 2. A real build.
        r = run(script, cache, out)
        if r.returncode != 0:
            fail(f"the build failed: {r.stderr}")
        manifest = json.loads((out / "packages.json").read_text())
        listed = {p["debian_package"] for p in manifest["packages"]} | {
            d["debian_package"] for d in manifest["data"]}
        locked = {spec.split("=")[0].split(":")[0] for spec, _ in specs}
        if listed != locked:
            fail(f"packages.json lists {sorted(listed ^ locked)} differently from the lock")
        site = out / "dist-packages"
        if "snakecage:" not in (site / "pdfminer/pdfdocument.py").read_text():
            fail("the pdfminer patch was not applied")
        if "CACERT_PATH" not in (site / "certifi/core.py").read_text():
            fail("the certifi patch was not applied")
        if so := sorted(str(p) for p in site.rglob("*.so")):
            fail(f"host C extensions left: {so}")
        for py in site.rglob("*.py"):
            pyc = py.parent / "__pycache__" / f"{py.stem}.cpython-311.pyc"
            if not pyc.is_file():
                fail(f"no bytecode for {py}")
            header = pyc.read_bytes()[:16]
            if int.from_bytes(header[4:8], "little") != 0b01:  # hash-based, unchecked
                fail(f"{pyc} is not unchecked-hash bytecode")
            guest_path = f"{GUEST_DIST_PACKAGES}/{py.relative_to(site)}".encode()
            if guest_path not in pyc.read_bytes():
                fail(f"{pyc} does not name its guest path {guest_path!r}")
        zoneinfo = out / "zoneinfo"
        for link in (p for p in zoneinfo.rglob("*") if p.is_symlink()):
            target = (link.parent / os.readlink(link)).resolve()
            if os.path.isabs(os.readlink(link)) or zoneinfo.resolve() not in target.parents:
                fail(f"{link} leads out of the zone database")
        if not (zoneinfo / "America/New_York").is_file():
            fail("America/New_York is not in the zone database")
        for name in locked:
            if not (out / "licenses" / name / "copyright").is_file():
                fail(f"no licence for {name}")

        # 3. A cache hit.
        before = entries(cache)
        stamp = (cache / "packages" / before[0] / "packages.json").stat().st_mtime_ns
        r = run(script, cache, out)
        if r.returncode != 0 or "cache hit" not in r.stderr:
            fail(f"the second run was not a cache hit: {r.stderr!r}")
        if entries(cache) != before or (
                cache / "packages" / before[0] / "packages.json").stat().st_mtime_ns != stamp:
            fail("the cache hit changed the cache")
    print("build_packages_test: ok")


if __name__ == "__main__":
    main()
