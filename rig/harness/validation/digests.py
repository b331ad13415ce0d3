"""SHA-256 of files and of folders (relative POSIX paths, sorted), shared by marker and package."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO

CHUNK = 1 << 20


def sha256_stream(fh: IO[bytes]) -> str:
    """The hex SHA-256 of what `fh` yields."""
    digest = hashlib.sha256()
    while chunk := fh.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return sha256_stream(fh)


def folder_files(root: Path) -> list[str]:
    """Every regular file under `root` as a relative POSIX path, sorted; symlinks are skipped
    (a package holds what the run wrote, never what a link points at)."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    )


def folder_digests(root: Path, *, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    return {rel: sha256_file(root / rel) for rel in folder_files(root) if rel not in skip}
