"""The plan ledger: which staged plans each device under test passed, in which order.

One JSON-lines file (by default `plan-ledger.jsonl` next to the report folders, beside the
report history). Every read and every append holds an exclusive `flock` on the file, so two
rig processes recording at once never interleave or lose a line. A device is keyed by its
identity (`device_key`): a kiosk by vendor, model, software version and build hash from its
`GET /info`, so a new build starts the sequence again; an issuance server by its URL.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from rig.harness.stages import SEQUENCES, DeviceKind, Stage, earlier_stages

LEDGER_FILE = "plan-ledger.jsonl"
#: A hand-edited ledger this large is not a ledger; refuse rather than read it all.
MAX_LEDGER_BYTES = 16 * 1024 * 1024

PASSED = "passed"
FAILED = "failed"
#: A run narrowed with -k: recorded, never counted as passing its stage.
PARTIAL = "partial"
OUTCOMES = (PASSED, FAILED, PARTIAL)


class LedgerError(ValueError):
    """An unreadable ledger; the message names the file and line."""


class OrderError(RuntimeError):
    """A later stage asked for before the device passed an earlier one."""

    def __init__(self, device: str, stage: Stage, missing: tuple[Stage, ...]):
        self.device, self.stage, self.missing = device, stage, missing
        super().__init__(
            f"{device} has not passed {', '.join(s.value for s in missing)}, which come(s) "
            f"before {stage.value} (seed II.5 order; docs/validation-package.md). Run those "
            "first, or pass --out-of-order to run anyway: the report, the ledger and the "
            "package then mark this run out of order."
        )


def device_key(identity: Mapping[str, Any]) -> str:
    """A stable key for a device identity (see `rig.harness.validation.marker.device_identity`)."""
    if identity.get("kind") == DeviceKind.KIOSK:
        parts = [identity.get(k) or "-" for k in ("vendor", "model", "software_version")]
        return f"kiosk:{'/'.join(map(str, parts))}@{identity.get('build_hash') or '-'}"
    return f"{identity.get('kind', 'device')}:{identity.get('url') or identity.get('name', '-')}"


@dataclass(frozen=True)
class Entry:
    at: str
    device: str
    kind: str
    stage: str
    outcome: str
    plan: str | None = None
    in_order: bool = True
    missing: list[str] = field(default_factory=list)
    report: str | None = None
    #: For stages run outside the rig: who/where/which reference (`rig ledger record`).
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entry(raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise LedgerError(f"{where}: not a JSON object")
    try:
        entry = Entry(**raw)
    except TypeError as exc:
        raise LedgerError(f"{where}: {exc}") from exc
    if entry.outcome not in OUTCOMES:
        raise LedgerError(f"{where}: outcome {entry.outcome!r} is not one of {OUTCOMES}")
    return entry


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[IO[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read(self, fh: IO[str]) -> list[Entry]:
        fh.seek(0)
        text = fh.read(MAX_LEDGER_BYTES + 1)
        if len(text) > MAX_LEDGER_BYTES:
            raise LedgerError(f"{self.path}: larger than {MAX_LEDGER_BYTES} bytes")
        entries = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LedgerError(f"{self.path}:{n}: not JSON ({exc.msg})") from exc
            entries.append(_entry(raw, f"{self.path}:{n}"))
        return entries

    def entries(self, device: str | None = None) -> list[Entry]:
        """Every entry (of one device), oldest first."""
        if not self.path.exists():
            return []
        with self._locked() as fh:
            found = self._read(fh)
        return [e for e in found if device is None or e.device == device]

    def missing_before(self, device: str, kind: DeviceKind, stage: Stage) -> tuple[Stage, ...]:
        """The earlier stages this device has not passed yet (empty: `stage` may run)."""
        passed = {e.stage for e in self.entries(device) if e.outcome == PASSED}
        return tuple(s for s in earlier_stages(kind, stage) if s.value not in passed)

    def append(self, entry: Entry) -> None:
        with self._locked() as fh:
            self._read(fh)  # refuse to add to a ledger that no longer reads
            fh.seek(0, 2)
            fh.write(json.dumps(entry.as_dict(), ensure_ascii=False) + "\n")
            fh.flush()


def passed_in_order(entries: list[Entry]) -> list[dict[str, Any]]:
    """Each stage's first pass, in the order the passes happened (for the report/package)."""
    seen: set[str] = set()
    order = []
    for e in entries:
        if e.outcome == PASSED and e.stage not in seen:
            seen.add(e.stage)
            order.append({"stage": e.stage, "at": e.at, "plan": e.plan, "in_order": e.in_order})
    return order


def sequence_of(kind: str) -> list[str]:
    try:
        return [s.value for s in SEQUENCES[DeviceKind(kind)]]
    except ValueError:
        return []
