"""The finished-run marker: `run-finished.json`, the last file `rig run` writes in a report folder.

It holds what a validation package needs besides the report: the plan and topology used
(their text), the versions, the requirement catalogue's version, the device's identity, the
plan order, and the SHA-256 of every file of the report folder as the run left it. `rig run`
deletes any earlier marker before it starts, so a folder whose run did not finish has none,
and `rig package create` refuses it; a file changed after the run finished no longer matches.
"""

from __future__ import annotations

import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from rig.harness.validation.digests import folder_digests, sha256_file

MARKER = "run-finished.json"
FORMAT = 1


class MarkerError(ValueError):
    """No finished run in this folder, or one changed since; the message says which."""


#: What `rig run` writes in a report folder. An earlier run's copies go before a run starts:
#: left there, its evidence of scenarios this run did not select would be digested into this
#: run's marker and carried into its validation package as if this run had written them.
RUN_OUTPUTS = (
    MARKER,
    "evidence",
    "allure-results",
    "allure-report",
    "allurerc.json",
    "index.html",
    "junit.xml",
    "results.json",
    "summary.json",
)


def clear_earlier_run(report_dir: Path) -> None:
    """Forget any earlier finished run here, and what it wrote: called before a run writes
    anything. Files the rig does not write are left alone (the folder may be the user's)."""
    for name in RUN_OUTPUTS:
        path = Path(report_dir) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def catalogue_version() -> dict[str, Any]:
    """The requirement catalogue's version: the SHA-256 of the shipped file and its size."""
    from rig.core.requirements import load_catalogue

    path = Path(str(resources.files("rig.core.requirements").joinpath("catalogue.yaml")))
    return {
        "sha256": sha256_file(path),
        "schema": 1,
        "requirements": len(load_catalogue(path).ids),
    }


def write_marker(report_dir: Path, record: dict[str, Any]) -> Path:
    """Write the marker (atomically) with the digests of every file now in `report_dir`."""
    report_dir = Path(report_dir)
    data = {
        "format": FORMAT,
        **record,
        "files": folder_digests(report_dir, skip=frozenset({MARKER})),
    }
    target = report_dir / MARKER
    tmp = target.with_name(f".{MARKER}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def read_marker(report_dir: Path) -> dict[str, Any]:
    """The marker of a finished run in `report_dir`; `MarkerError` if there is none."""
    path = Path(report_dir) / MARKER
    if not Path(report_dir).is_dir():
        raise MarkerError(f"{report_dir}: no such report folder")
    if not path.exists():
        raise MarkerError(
            f"{report_dir}: no finished run here ({MARKER} is missing: the run did not finish, "
            "or this is not a folder `rig run` wrote); a package is only made from a finished run"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MarkerError(f"{path}: unreadable marker ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MarkerError(f"{path}: not a run marker of format {FORMAT}")
    if not isinstance(data.get("files"), dict):
        raise MarkerError(f"{path}: the marker lists no files")
    return data


def changes_since_finish(report_dir: Path, marker: dict[str, Any]) -> list[str]:
    """Files of `report_dir` altered, removed or added after the run finished."""
    now = folder_digests(Path(report_dir), skip=frozenset({MARKER}))
    then: dict[str, str] = marker["files"]
    problems = [
        f"altered since the run finished: {p}"
        for p in sorted(then)
        if p in now and now[p] != then[p]
    ]
    problems += [f"removed since the run finished: {p}" for p in sorted(then) if p not in now]
    problems += [f"added since the run finished: {p}" for p in sorted(now) if p not in then]
    return problems
