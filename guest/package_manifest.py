#!/usr/bin/env python3
"""Writes packages.json: what the guest can import from dist-packages and
which Debian package each came from (guest/build-packages.sh runs it).

Reads each extracted .deb under --debs (NAME/ is its tree, NAME.control its
Package, Version and Source fields). A package's import names are the
top-level modules and packages it installs into dist-packages; names with a
leading underscore are private helpers and not listed. The upstream name and
version come from its egg-info PKG-INFO or dist-info METADATA.
"""
import argparse
import email.parser
import json
import pathlib
import sys

DIST_PACKAGES = pathlib.Path("usr/lib/python3/dist-packages")


def read_control(path):
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def upstream_metadata(dist_packages):
    """(name, version) from the package's egg-info or dist-info."""
    for pattern, filename in (("*.dist-info", "METADATA"), ("*.egg-info", "PKG-INFO")):
        for info in sorted(dist_packages.glob(pattern)):
            meta = info / filename if info.is_dir() else info
            if meta.is_file():
                msg = email.parser.Parser().parsestr(meta.read_text(encoding="utf-8"))
                return msg["Name"], msg["Version"]
    raise SystemExit(f"no egg-info or dist-info in {dist_packages}")


def import_names(deb_dist_packages, guest_dist_packages):
    names = []
    for entry in sorted(deb_dist_packages.iterdir()):
        if entry.name.endswith((".egg-info", ".dist-info")) or entry.name.startswith("_"):
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file():
            names.append(entry.name)
        elif entry.suffix == ".py":
            names.append(entry.stem)
    for name in names:
        if not ((guest_dist_packages / name).is_dir()
                or (guest_dist_packages / f"{name}.py").is_file()):
            raise SystemExit(f"{name} is not in {guest_dist_packages}")
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--debs", type=pathlib.Path, required=True)
    ap.add_argument("--dist-packages", type=pathlib.Path, required=True)
    ap.add_argument("--zoneinfo", type=pathlib.Path, required=True)
    args = ap.parse_args()

    packages, data = [], []
    for control_file in sorted(args.debs.glob("*.control")):
        control = read_control(control_file)
        tree = args.debs / control_file.stem
        origin = {
            "source": "debian",
            "debian_package": control["Package"],
            "debian_version": control["Version"],
            "license": f"licenses/{control['Package']}/copyright",
        }
        dist_packages = tree / DIST_PACKAGES
        if dist_packages.is_dir():
            name, version = upstream_metadata(dist_packages)
            names = import_names(dist_packages, args.dist_packages)
            if not names:
                raise SystemExit(f"{control['Package']} installs nothing importable")
            packages.append({"name": name, "version": version, "import_names": names, **origin})
        elif (tree / "usr/share/zoneinfo").is_dir():
            version = (args.zoneinfo / "tzdata.zi").read_text().splitlines()[0]
            if not version.startswith("# version "):
                raise SystemExit("tzdata.zi does not start with its version")
            data.append({"name": "tzdata", "version": version[len("# version "):],
                         "guest_path": "/usr/share/zoneinfo", **origin})
        else:
            raise SystemExit(f"{control['Package']} has neither Python files nor zoneinfo")
    packages.sort(key=lambda p: p["name"].lower())
    json.dump({"packages": packages, "data": data}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
