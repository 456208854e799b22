#!/usr/bin/env python3
"""Fails when Cargo.toml lists a dependency that no Rust file uses.

A crate counts as used when a source file names it as a path (`name::`)
or imports it (`use name`). The same check cargo-machete makes, without
installing anything: CI runs it on every change so unused crates (build
time, audit surface) stay out.
"""
import pathlib
import re
import sys
import tomllib

root = pathlib.Path(__file__).resolve().parent.parent
manifest = tomllib.loads((root / "Cargo.toml").read_text())
# Dev-dependencies only count in tests and test modules; normal ones
# anywhere under src/.
sources = {
    "dependencies": list((root / "src").rglob("*.rs")),
    "dev-dependencies": list((root / "src").rglob("*.rs")) + list((root / "tests").rglob("*.rs")),
}
unused = []
for section, files in sources.items():
    text = "\n".join(f.read_text(errors="replace") for f in files)
    for name in manifest.get(section, {}):
        crate = name.replace("-", "_")
        if not re.search(rf"(\b{crate}::|\buse {crate}\b|\b{crate}!)", text):
            unused.append(f"{section}: {name}")
if unused:
    print("unused dependencies in Cargo.toml (remove them):", *unused, sep="\n  ")
    sys.exit(1)
print("every dependency in Cargo.toml is used")
