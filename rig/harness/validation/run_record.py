"""What `rig run` records about a run: the device under test, its place in the seed's order of
tests (checked before the run, written to the ledger after), and the finished-run marker."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from reports.builder import now_stamp
from rig.harness.config import DEFAULT_TOPOLOGY, Topology, TopologyError
from rig.harness.plans import Plan
from rig.harness.stages import DeviceKind, Stage
from rig.harness.validation.ledger import (
    FAILED,
    LEDGER_FILE,
    PARTIAL,
    PASSED,
    Entry,
    Ledger,
    OrderError,
    device_key,
    passed_in_order,
    sequence_of,
)
from rig.harness.validation.marker import catalogue_version, write_marker


def default_ledger(report_dir: Path) -> Path:
    """Beside the report folders, like the report history (reports/out/plan-ledger.jsonl)."""
    return Path(report_dir).parent / LEDGER_FILE


def reference_kiosk() -> dict[str, Any]:
    from emulators.kiosk import identity

    return {
        "kind": DeviceKind.KIOSK.value,
        "vendor": identity.VENDOR,
        "model": identity.MODEL,
        "software_version": identity.SOFTWARE_VERSION,
        "build_hash": identity.build_hash(),
        "emulated": True,
    }


def reference_server() -> dict[str, Any]:
    return {
        "kind": DeviceKind.ISSUANCE_SERVER.value,
        "url": None,
        "name": "the rig's emulated issuance server",
        "software_version": metadata.version("konbini-rig"),
        "emulated": True,
    }


def _identity_of_units(plan: Plan, topology: Topology) -> dict[str, Any]:
    """Several units of one kiosk: they must all be the same device (vendor, model, software,
    build), since one run and one package judge one device."""
    units = [device_identity(plan, unit) for unit in topology.unit_topologies()]
    same = ("vendor", "model", "software_version", "build_hash")
    kinds = {tuple(u.get(k) for k in same) for u in units}
    if len(kinds) != 1:
        raise TopologyError(
            f"{topology.name}: the kiosk units are not the same device "
            f"({'; '.join('/'.join(str(v) for v in kind) for kind in sorted(kinds, key=str))}): "
            "one run judges one kiosk model and software"
        )
    return {**units[0], "robot_url": None, "units": [u["robot_url"] for u in units]}


def device_identity(plan: Plan, topology: Topology) -> dict[str, Any]:
    """The device this run judges: an external kiosk by its `GET /info`, an external issuance
    server by its URL, otherwise the rig's reference device(s)."""
    if topology.kiosk.units:
        return _identity_of_units(plan, topology)
    kiosk, municipal = topology.external_kiosk, topology.external_municipal
    if kiosk is not None:
        import httpx

        from rig.core.drivers.robot_client import RobotClient, RobotError

        assert kiosk.robot_url is not None  # validated with the topology
        try:
            with RobotClient(kiosk.robot_url, timeout=5) as robot:
                info = robot.info()
        except (httpx.HTTPError, RobotError, ValueError) as exc:
            raise TopologyError(
                f"{topology.name}: the kiosk's GET /info at {kiosk.robot_url} failed "
                f"({type(exc).__name__}: {exc}); the run needs the kiosk's identity"
            ) from exc
        return {
            "kind": DeviceKind.KIOSK.value,
            "vendor": info.vendor,
            "model": info.model,
            "software_version": info.software_version,
            "build_hash": info.build_hash,
            "robot_url": kiosk.robot_url,
            "protocol_version": info.protocol_version,
        }
    if municipal is not None:
        return {
            "kind": DeviceKind.ISSUANCE_SERVER.value,
            "url": municipal.url,
            "municipalities": list(municipal.municipalities),
        }
    if plan.device is DeviceKind.KIOSK:
        return reference_kiosk()
    if plan.device is DeviceKind.ISSUANCE_SERVER:
        return reference_server()
    return {
        "kind": "reference-world",
        "name": "everything emulated: the reference kiosk and issuance server",
        "software_version": metadata.version("konbini-rig"),
        "kiosk": reference_kiosk(),
        "issuance_server": reference_server(),
    }


@dataclass
class RunRecord:
    """Carried through one `rig run`: made before pytest starts, finished after the report."""

    plan: Plan
    topology: Topology
    topology_path: str | None
    ledger: Ledger
    device: dict[str, Any]
    out_of_order: bool = False
    missing: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=now_stamp)

    @property
    def key(self) -> str:
        return device_key(self.device)

    @classmethod
    def begin(
        cls,
        plan: Plan,
        topology: Topology,
        topology_path: str | None,
        ledger_path: Path,
        *,
        allow_out_of_order: bool,
    ) -> RunRecord:
        """Identify the device and check the order; raise `OrderError` unless allowed."""
        record = cls(
            plan, topology, topology_path, Ledger(ledger_path), device_identity(plan, topology)
        )
        if plan.stage is not None and plan.device is not None:
            missing = record.ledger.missing_before(record.key, plan.device, plan.stage)
            if missing and not allow_out_of_order:
                raise OrderError(record.key, plan.stage, missing)
            record.out_of_order = bool(missing)
            record.missing = [s.value for s in missing]
        return record

    def order_meta(self) -> dict[str, Any]:
        """For the report: where this run stands in the seed's order."""
        if self.plan.stage is None:
            return {"stage": None}
        return {
            "stage": self.plan.stage.value,
            "device": self.key,
            "out_of_order": self.out_of_order,
            "missing": self.missing,
        }

    def finish(
        self,
        report_dir: Path,
        summary: dict[str, Any],
        exit_code: int,
        versions: dict[str, str],
        *,
        narrowed: str | None,
        expected_failures: Path | None,
    ) -> None:
        """Add the run to the ledger (staged plans), then write the finished-run marker."""
        outcome = PARTIAL if narrowed else (PASSED if exit_code == 0 else FAILED)
        if self.plan.stage is not None and self.plan.device is not None:
            self.ledger.append(
                Entry(
                    at=now_stamp(),
                    device=self.key,
                    kind=self.plan.device.value,
                    stage=self.plan.stage.value,
                    outcome=outcome,
                    plan=self.plan.name,
                    in_order=not self.out_of_order,
                    missing=self.missing,
                    report=str(report_dir),
                )
            )
        # an unstaged plan (smoke, full) has no place in the order: its run never reads the ledger
        entries = self.ledger.entries(self.key) if self.plan.stage is not None else []
        kind = self.plan.device.value if self.plan.device else str(self.device.get("kind"))
        write_marker(
            report_dir,
            {
                "finished": True,
                "started_at": self.started_at,
                "finished_at": now_stamp(),
                "plan": {
                    "name": self.plan.name,
                    "title": self.plan.title,
                    "stage": self.plan.stage.value if self.plan.stage else None,
                    "text": _text(self.plan.path),
                },
                "topology": {
                    "name": self.topology.name,
                    "file": self.topology_path or str(DEFAULT_TOPOLOGY),
                    "text": _text(
                        Path(self.topology_path) if self.topology_path else DEFAULT_TOPOLOGY
                    ),
                    "municipal_test_data": _text(
                        self.topology.external_municipal.test_data
                        if self.topology.external_municipal
                        else None
                    ),
                },
                "selection": narrowed,
                "expected_failures_text": _text(expected_failures) if expected_failures else None,
                "versions": versions,
                "catalogue": catalogue_version(),
                "device": {**self.device, "key": self.key},
                "verdict": summary["verdict"],
                "exit_code": exit_code,
                "tests": summary["tests"],
                "totals": summary["totals"],
                "new_failures": len(summary["new_failures"]),
                "order": {
                    **self.order_meta(),
                    "outcome": outcome if self.plan.stage else None,
                    "sequence": sequence_of(kind),
                    "passed_in_order": passed_in_order(entries),
                    "ledger": [e.as_dict() for e in entries],
                },
            },
        )


def _text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


__all__ = ["OrderError", "RunRecord", "Stage", "default_ledger", "device_identity"]
