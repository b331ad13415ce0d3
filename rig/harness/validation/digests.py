"""SHA-256 of files and of folders (relative POSIX paths, sorted), shared by marker and package."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO

CHUNK = 1 << 20


def sha256_stream(fh: IO[bytes]) -> tuple[str, int]:
    """The hex SHA-256 and length of what `fh` yields."""
    digest, size = hashlib.sha256(), 0
    while chunk := fh.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return sha256_stream(fh)[0]


def folder_files(root: Path) -> list[str]:
    """Every regular file under `root` as a relative POSIX path, sorted; symlinks are skipped
    (a package holds what the run wrote, never what a link points at)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found.append(path.relative_to(root).as_posix())
    return sorted(found)


def folder_digests(root: Path, *, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    return {rel: sha256_file(root / rel) for rel in folder_files(root) if rel not in skip}
