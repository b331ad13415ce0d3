"""Test plans: which scenarios a run executes.

A plan is YAML in rig/harness/plans/ (or any path): a name, a description, and a
selection by scenario area (the module `scenarios/test_<area>.py`) and/or by marker. Shipped plans:

- `smoke`: a quick health check (marker `smoke`), under 30 s;
- `full`: every scenario (the nightly run, `make run`);
- `kiosk-conformance`: a kiosk vendor's test of its kiosk against the rig's centre, municipal
  server, card, cash and printer (formerly `pseudo-store`, still accepted with a deprecation
  note: it is not the seed's システム確認試験(疑似店舗), docs/harness.md "Which test is which");
- `municipal-server`: the seed's 事前評価ツール role, the rig as centre and kiosks against an
  issuance server (marker `municipal_server`).

A plan may name its `title` (the report's heading) and its `stage` in the seed's order of
tests (rig/harness/stages.py), with `device` where the stage exists for both kinds.

A plan may also state `kiosk_timeouts_max_s`: per kiosk screen id, the longest inactivity
time-out the plan accepts. The kiosk's declared time-outs are checked against it, and the kiosk
must have ended the session once it has passed (PRIV-011), instead of trusting the declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rig.core.protocols.robot import ScreenId
from rig.harness.stages import DeviceKind, Stage, StageError, parse_stage

PLAN_DIR = Path(__file__).parent / "plans"


#: Old plan names still accepted, with the name that replaced them.
DEPRECATED_ALIASES: dict[str, str] = {"pseudo-store": "kiosk-conformance"}


class PlanError(ValueError):
    """A plan that cannot be used; the message says why."""


def deprecation_note(name: str) -> str | None:
    """What to tell a user who named a plan by its old name, or None."""
    new = DEPRECATED_ALIASES.get(name)
    if new is None:
        return None
    return (
        f"plan {name!r} is now {new!r} (the vendor's test of a kiosk, not the seed's "
        f"システム確認試験(疑似店舗)); the old name will be removed: use --plan {new}"
    )


@dataclass(frozen=True)
class Plan:
    name: str
    description: str = ""
    areas: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    exclude_markers: tuple[str, ...] = ()
    max_seconds: float | None = None
    title: str = ""
    #: Where this plan stands in the seed's order of tests (None: not a pre-go-live test).
    stage: Stage | None = None
    device: DeviceKind | None = None
    path: Path | None = None
    #: screen id → the longest inactivity time-out the plan accepts (seconds)
    kiosk_timeouts_max_s: dict[str, float] = field(default_factory=dict)

    def over_time(self, seconds: float) -> str | None:
        """A note when a run took longer than the plan's `max_seconds`: a slower machine or a
        regression in speed, worth a look but never a failure (speed is judged by benchmarks)."""
        if self.max_seconds is None or seconds <= self.max_seconds:
            return None
        return (
            f"plan {self.name} is meant to take under {self.max_seconds:g} s; its scenarios "
            f"took {seconds:.0f} s (docs/performance.md has the figures of this machine)"
        )

    def selects(self, area: str, markers: set[str]) -> bool:
        if markers & set(self.exclude_markers):
            return False
        if not self.areas and not self.markers:
            return True
        return area in self.areas or bool(markers & set(self.markers))


def available_plans() -> list[str]:
    return sorted(p.stem for p in PLAN_DIR.glob("*.yaml"))


def load_plan(name_or_path: str) -> Plan:
    path = Path(name_or_path)
    if not path.suffix:
        path = PLAN_DIR / f"{DEPRECATED_ALIASES.get(name_or_path, name_or_path)}.yaml"
    if not path.exists():
        raise PlanError(
            f"no plan {name_or_path!r}: choose one of {', '.join(available_plans())} or give a path"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise PlanError(f"{path}: a plan is a mapping with at least a 'name'")
    unknown = set(data) - {
        "name",
        "title",
        "description",
        "select",
        "max_seconds",
        "stage",
        "device",
        "kiosk_timeouts_max_s",
    }
    if unknown:
        raise PlanError(f"{path}: unknown keys {sorted(unknown)}")
    select = data.get("select") or {}
    if not isinstance(select, dict) or set(select) - {"areas", "markers", "exclude_markers"}:
        raise PlanError(f"{path}: 'select' takes areas, markers and exclude_markers")

    def strings(key: str) -> tuple[str, ...]:
        value = select.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PlanError(f"{path}: select.{key} must be a list of names")
        return tuple(value)

    stage: Stage | None = None
    device: DeviceKind | None = None
    if data.get("stage") is not None:
        try:
            device, stage = parse_stage(str(data["stage"]), data.get("device"))
        except StageError as exc:
            raise PlanError(f"{path}: {exc}") from exc
    elif data.get("device") is not None:
        raise PlanError(f"{path}: 'device' goes with a 'stage'")

    limits = data.get("kiosk_timeouts_max_s") or {}
    screens = {s.value for s in ScreenId}
    if not isinstance(limits, dict) or not all(
        k in screens and isinstance(v, int | float) and 0 < v <= 3600 for k, v in limits.items()
    ):
        raise PlanError(
            f"{path}: kiosk_timeouts_max_s maps screen ids ({', '.join(sorted(screens))}) "
            "to seconds in (0, 3600]"
        )

    return Plan(
        name=data["name"],
        title=str(data.get("title") or data["name"]),
        stage=stage,
        device=device,
        path=path,
        description=str(data.get("description", "")),
        areas=strings("areas"),
        markers=strings("markers"),
        exclude_markers=strings("exclude_markers"),
        max_seconds=data.get("max_seconds"),
        kiosk_timeouts_max_s={str(k): float(v) for k, v in limits.items()},
    )
