#!/usr/bin/env python3
"""Lines of product code (rig/, emulators/, reports/) at git revisions, for docs/architecture.md.

A line counts when it is not blank and not a comment (docstrings count: they are read like
code). `REV` prints the count at REV; `A..B` prints both and the difference, e.g. a merge
against its first parent: `scripts/product_lines.py 85ff02d^1..85ff02d`.
"""

from __future__ import annotations

import subprocess
import sys

PRODUCT = ("rig", "emulators", "reports")
SOURCES = (".py", ".c")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def code_lines(text: str) -> int:
    return sum(
        1
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "//"))
    )


def product_lines(rev: str) -> int:
    files = [
        f
        for f in _git("ls-tree", "-r", "--name-only", rev, *PRODUCT).split()
        if f.endswith(SOURCES)
    ]
    return sum(code_lines(_git("show", f"{rev}:{name}")) for name in files)


def main(specs: list[str]) -> int:
    if not specs:
        print(__doc__, file=sys.stderr)
        return 2
    for spec in specs:
        if ".." in spec:
            before, after = spec.split("..", 1)
            a, b = product_lines(before), product_lines(after)
            print(f"{spec}: {a:,} -> {b:,} ({b - a:+,})")
        else:
            print(f"{spec}: {product_lines(spec):,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
