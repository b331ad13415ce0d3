"""Traffic profiles of a load campaign (`rig load --profile NAME|FILE`), from YAML.

A profile says how many transactions arrive per second over the run (its `shape`), what they
ask for (its `mix`: certificate types, copies, authentication methods), how long the run may
last and how many transactions it may make at most (both bounded, with defaults), and the
error rate above which the run fails. docs/load.md documents every field.

Shapes: `constant`, `step`, `spike` and `hourly` (a day of 24 hourly rates, each hour played
for `hour_seconds` of run time). `hourly.hourly_rates` is the seam for the demand model
(rig/harness/demand): anything that can write 24 numbers of issuances per hour can drive a run.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from rig.core.model_errors import load_model
from rig.core.protocols.centre import CertTypeName

PROFILE_DIR = Path(__file__).parent / "profiles"
#: hard ceilings: a profile cannot ask for an unbounded run
MAX_DURATION_S = 24 * 3600.0
MAX_TRANSACTIONS = 10_000_000


class ProfileError(ValueError):
    """A profile the rig cannot use; the message names the file, the field and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Constant(_Strict):
    kind: Literal["constant"]
    rate: float = Field(gt=0, le=10_000, description="transactions per second")

    def rate_at(self, t: float) -> float:
        return self.rate


class Step(_Strict):
    at: float = Field(ge=0, description="seconds from the start of the run")
    rate: float = Field(ge=0, le=10_000)


class Steps(_Strict):
    kind: Literal["step"]
    steps: list[Step] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: list[Step]) -> list[Step]:
        if steps[0].at != 0:
            raise ValueError("the first step must start at 0")
        if any(b.at <= a.at for a, b in itertools.pairwise(steps)):
            raise ValueError("steps must be in increasing order of `at`")
        return steps

    def rate_at(self, t: float) -> float:
        return [s.rate for s in self.steps if s.at <= t][-1]


class Spike(_Strict):
    kind: Literal["spike"]
    base: float = Field(ge=0, le=10_000)
    peak: float = Field(gt=0, le=10_000)
    at: float = Field(ge=0, description="seconds from the start when the spike begins")
    length: float = Field(gt=0, description="seconds the spike lasts")

    def rate_at(self, t: float) -> float:
        return self.peak if self.at <= t < self.at + self.length else self.base


class Hourly(_Strict):
    """A day's arrivals, hour by hour (0:00–23:00 rig time), scaled to a target."""

    kind: Literal["hourly"]
    hourly_rates: list[float] = Field(
        min_length=24, max_length=24, description="issuances in each hour of the day"
    )
    scale: float = Field(default=1.0, gt=0, description="multiplies every hourly rate")
    hour_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="seconds of run time given to each hour"
    )
    first_hour: int = Field(default=0, ge=0, le=23, description="the hour the run starts in")

    @field_validator("hourly_rates")
    @classmethod
    def _non_negative(cls, rates: list[float]) -> list[float]:
        if any(r < 0 for r in rates):
            raise ValueError("hourly rates cannot be negative")
        if not any(r > 0 for r in rates):
            raise ValueError("at least one hour needs arrivals")
        return rates

    def hour_at(self, t: float) -> int:
        return (self.first_hour + int(t // self.hour_seconds)) % 24

    def rate_at(self, t: float) -> float:
        # the real arrival rate of that hour (per second), not compressed with the run
        return self.hourly_rates[self.hour_at(t)] * self.scale / 3600.0


class Rounds(_Strict):
    """`sessions` kiosk sessions released together, `rounds` times: each kiosk does one whole
    transaction per round, then waits at its process's round barrier until every kiosk of
    that process has finished the round (the near-simultaneous requests of the 2023
    incidents, repeated)."""

    kind: Literal["rounds"]
    sessions: int = Field(ge=1, le=10_000, description="kiosk sessions released together")
    rounds: int = Field(ge=1, le=10_000, description="how many times they are released")

    def rate_at(self, t: float) -> float:
        # not an arrival rate: the barrier, not pacing, sets when transactions start
        return float(self.sessions)


Shape = Annotated[Constant | Steps | Spike | Hourly | Rounds, Field(discriminator="kind")]


def _shares(value: dict[str, float], what: str) -> dict[str, float]:
    if not value:
        raise ValueError(f"name at least one {what}")
    if any(v < 0 for v in value.values()) or sum(value.values()) <= 0:
        raise ValueError(f"{what} weights must be non-negative with a positive sum")
    return value


class Mix(_Strict):
    """What each transaction asks for; weights need not sum to 1."""

    cert_types: dict[CertTypeName, float] = {"resident_record": 1.0}
    copies: dict[int, float] = {1: 1.0}
    methods: dict[Literal["jpki", "card_ap"], float] = {"jpki": 1.0}
    #: share of transactions by non-residents (本籍 here, living elsewhere: 戸籍, 附票)
    non_residents: float = Field(default=0.0, ge=0, le=1)

    @field_validator("cert_types", "methods")
    @classmethod
    def _weights(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        return _shares(v, "method" if info.field_name == "methods" else "certificate type")

    @field_validator("copies")
    @classmethod
    def _copies(cls, v: dict[int, float]) -> dict[int, float]:
        if any(not 1 <= c <= 99 for c in v):
            raise ValueError("copies are 1 to 99")
        _shares({str(k): w for k, w in v.items()}, "copies")
        return v


class LoadProfile(_Strict):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    shape: Shape
    mix: Mix = Mix()
    duration_s: float = Field(default=60.0, gt=0, le=MAX_DURATION_S)
    max_transactions: int = Field(default=1000, ge=1, le=MAX_TRANSACTIONS)
    error_rate_threshold: float = Field(default=0.01, ge=0, le=1)
    #: seconds between the starts of one kiosk's transactions: users = rate × pacing
    pacing_s: float = Field(default=4.0, gt=0, le=3600)
    #: rig time the emulated world starts at (service hours come from the rig clock)
    clock_start: datetime | None = None

    @property
    def rounds(self) -> Rounds | None:
        """The rounds shape, if this profile has one (released together, not paced)."""
        return self.shape if isinstance(self.shape, Rounds) else None

    def users_at(self, t: float) -> int:
        """Kiosks needed at `t` for the shape's arrival rate (each starts one per pacing)."""
        if isinstance(self.shape, Rounds):
            return self.shape.sessions
        rate = self.shape.rate_at(t)
        return 0 if rate <= 0 else max(1, math.ceil(rate * self.pacing_s))

    def bounded(self, duration_s: float | None, max_transactions: int | None) -> LoadProfile:
        """This profile with the command line's bounds (which stay within the ceilings)."""
        update: dict[str, object] = {}
        if duration_s is not None:
            if not 0 < duration_s <= MAX_DURATION_S:
                raise ProfileError(f"--duration: {duration_s} s is outside (0, {MAX_DURATION_S}]")
            update["duration_s"] = duration_s
        if max_transactions is not None:
            if not 1 <= max_transactions <= MAX_TRANSACTIONS:
                raise ProfileError(f"--max-transactions: {max_transactions} is outside [1, 1e7]")
            update["max_transactions"] = max_transactions
        return self.model_copy(update=update)


def profile_path(name_or_path: str) -> Path:
    """A bundled profile by name (rig/harness/load/profiles/NAME.yaml) or a file path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    return PROFILE_DIR / f"{name_or_path}.yaml"


def bundled_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name_or_path: str) -> LoadProfile:
    """Read and validate a profile; `ProfileError` names the file, each field and problem."""
    path = profile_path(name_or_path)
    if not path.exists():
        known = ", ".join(bundled_profiles())
        raise ProfileError(f"{path}: no such profile (bundled: {known})")
    return load_model(path, LoadProfile, ProfileError)
