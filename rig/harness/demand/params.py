"""The demand model's parameters: pydantic models, YAML loading and the one error for bad input.

Three files feed the model: the defaults (rig/harness/demand/defaults.yaml: time shape,
mix, behaviour, volume calibration), a municipality (examples/*.yaml: who, how many,
fees, hours, costs; its `demand:` key overrides any default) and the nation
(rig/harness/demand/nation.yaml: population tiers).
Every problem is reported as `DemandInputError(file, field, problem)`; the CLI turns it into
exit 2 before anything is written.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rig.core.holidays import covered_years

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")
NATION_FILE = Path(__file__).with_name("nation.yaml")

CertType = Literal["resident_record", "seal_registration", "tax_certificate", "koseki", "fuhyo"]
CERT_TYPES: tuple[CertType, ...] = get_args(CertType)
#: the 戸籍 group: 戸籍 hours apply, and the seed's cost rows ④⑤ (with tax certificates)
KOSEKI_GROUP: frozenset[str] = frozenset({"koseki", "fuhyo"})
AuthMethod = Literal["my_number_card", "smartphone", "card_ap"]
AUTH_METHODS: tuple[AuthMethod, ...] = get_args(AuthMethod)
Month = Literal["apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "jan", "feb", "mar"]
#: calendar month number → key
MONTHS: dict[int, Month] = {
    4: "apr", 5: "may", 6: "jun", 7: "jul", 8: "aug", 9: "sep",
    10: "oct", 11: "nov", 12: "dec", 1: "jan", 2: "feb", 3: "mar",
}  # fmt: skip
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
MunicipalityKind = Literal["designated_city", "city", "ward", "town", "village"]
#: hours of the day the centre serves (06:30-23:00, seed II.7.1): 6 … 22
SERVICE_HOURS = tuple(range(6, 23))
#: the model's time step; every window must fall on it
STEP_MINUTES = 5
SHARE_SLACK = 1e-3

Rate = Field(ge=0, allow_inf_nan=False)
M = TypeVar("M", bound=BaseModel)


class DemandInputError(ValueError):
    """A parameter file the model cannot use: which file, which field, what is wrong."""

    def __init__(self, file: str | Path, field: str, problem: str):
        self.file, self.field, self.problem = str(file), field, problem
        super().__init__(f"{file}: {field}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _shares(value: dict[Any, float], what: str) -> dict[Any, float]:
    total = sum(value.values())
    if not value or abs(total - 1.0) > SHARE_SLACK:
        raise ValueError(f"{what} shares must add up to 1 (they add up to {total:g})")
    return value


def _complete(value: dict[Any, float], keys: tuple[Any, ...], what: str) -> dict[Any, float]:
    missing = [k for k in keys if k not in value]
    if missing:
        raise ValueError(f"{what}: missing {', '.join(map(str, missing))}")
    return value


def _aligned(moment: time | datetime, what: str) -> None:
    if moment.minute % STEP_MINUTES or moment.second or moment.microsecond:
        raise ValueError(f"{what} {moment.isoformat()} is not on a {STEP_MINUTES}-minute boundary")


class Volume(_Strict):
    copies_per_holder_per_year: float = Rate
    store_elasticity: float = Rate
    national_stores_per_10k: float = Field(gt=0, allow_inf_nan=False)
    min_store_ratio: float = Field(gt=0, le=1, allow_inf_nan=False)


class MovingPeak(_Strict):
    centre: str = Field(pattern=r"^\d\d-\d\d$")
    width_days: float = Field(gt=0, allow_inf_nan=False)
    amplitude: float = Rate

    @field_validator("centre")
    @classmethod
    def _day(cls, value: str) -> str:
        month, day = (int(x) for x in value.split("-"))
        date(2023, month, day)  # raises ValueError for 02-30 (and 02-29: not every year has it)
        return value


class TimeShape(_Strict):
    month_weights: dict[Month, float]
    moving_peak: MovingPeak
    weekday_weights: dict[Weekday, float]
    holiday_weight: float = Rate
    hourly_weekday: dict[int, float]
    hourly_day_off: dict[int, float]

    @field_validator("month_weights", "weekday_weights", "hourly_weekday", "hourly_day_off")
    @classmethod
    def _non_negative(cls, value: dict[Any, float]) -> dict[Any, float]:
        for key, rate in value.items():
            if not math.isfinite(rate) or rate < 0:
                raise ValueError(f"{key}: a rate must be a finite number >= 0, not {rate}")
        return value

    @model_validator(mode="after")
    def _complete_tables(self) -> TimeShape:
        _complete(self.month_weights, tuple(MONTHS.values()), "month_weights")
        _complete(self.weekday_weights, WEEKDAYS, "weekday_weights")
        for name in ("hourly_weekday", "hourly_day_off"):
            table: dict[int, float] = getattr(self, name)
            _complete(table, SERVICE_HOURS, name)
            extra = sorted(set(table) - set(SERVICE_HOURS))
            if extra:
                raise ValueError(f"{name}: hours {extra} are outside the centre's 6-22")
        return self


class Behaviour(_Strict):
    planned_share: float = Field(ge=0, le=1)
    come_back_share: float = Field(ge=0, le=1)
    come_back_mean_hours: float = Field(gt=0, le=24 * 30, allow_inf_nan=False)


class Mix(_Strict):
    certificates: dict[CertType, float]
    authentication: dict[AuthMethod, float]
    copies: dict[int, float]

    @field_validator("certificates", "authentication", "copies")
    @classmethod
    def _non_negative(cls, value: dict[Any, float]) -> dict[Any, float]:
        for key, share in value.items():
            if not math.isfinite(share) or share < 0:
                raise ValueError(f"{key}: a share must be a finite number >= 0, not {share}")
        return value

    @field_validator("copies")
    @classmethod
    def _copy_counts(cls, value: dict[int, float]) -> dict[int, float]:
        bad = [n for n in value if not 1 <= n <= 10]
        if bad:
            raise ValueError(f"copies per applicant must be 1-10, not {bad}")
        return value

    @model_validator(mode="after")
    def _add_up(self) -> Mix:
        _shares(self.certificates, "certificate")
        _shares(self.authentication, "authentication")
        _shares(self.copies, "copies")
        return self

    @property
    def mean_copies(self) -> float:
        return sum(n * p for n, p in self.copies.items())


class DemandParams(_Strict):
    volume: Volume
    time: TimeShape
    behaviour: Behaviour
    mix: Mix


class DailyWindow(_Strict):
    """[start, end) every day; the centre's own 06:30-23:00 still bounds it."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> DailyWindow:
        _aligned(self.start, "start")
        _aligned(self.end, "end")
        if self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} is not after start {self.start:%H:%M}")
        return self


class KosekiWindow(DailyWindow):
    weekdays_only: bool = True


class MaintenanceWindow(_Strict):
    start: datetime
    end: datetime
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        for name in ("start", "end"):
            moment: datetime = getattr(self, name)
            if moment.tzinfo is None:
                raise ValueError(f"{name} {moment.isoformat()} has no UTC offset (write +09:00)")
            _aligned(moment, name)
        if self.end <= self.start:
            raise ValueError(
                f"dates out of order: end {self.end.isoformat()} is not after "
                f"start {self.start.isoformat()}"
            )
        return self


class Costs(_Strict):
    """The municipality's own running costs and savings (yen per year / per copy)."""

    #: 証明発行サーバ他機器・ソフトウェア等の保守: contracted separately (seed III.2.4 ②)
    server_maintenance_yen_per_year: int = Field(default=0, ge=0)
    #: staff cost of one copy at the counter, saved when it is issued at a kiosk instead
    counter_cost_per_copy_yen: int = Field(default=0, ge=0)
    #: the municipality's own construction estimate, beside the seed's reference figures
    construction_yen: int | None = Field(default=None, ge=0)


class Municipality(_Strict):
    name: str = Field(min_length=1)
    kind: MunicipalityKind
    population: int = Field(gt=0)
    card_penetration: float = Field(gt=0, le=1)
    stores: int = Field(ge=0, description="convenience stores in the municipality")
    fiscal_year: int = Field(description="the fiscal year simulated: April to March")
    fees: dict[CertType, int] = Field(min_length=1, description="kiosk fee per copy, by type")
    offers_card_ap: bool = False
    service_hours: DailyWindow = DailyWindow(start=time(6, 30), end=time(23, 0))
    koseki_hours: KosekiWindow | None = None
    closed_weekdays: list[Weekday] = []
    closed_on_national_holidays: bool = False
    closed_dates: list[date] = []
    maintenance: list[MaintenanceWindow] = []
    costs: Costs = Costs()
    demand: DemandParams

    @field_validator("fees")
    @classmethod
    def _fees(cls, value: dict[str, int]) -> dict[str, int]:
        for key, fee in value.items():
            if not 0 <= fee <= 10_000:
                raise ValueError(f"{key}: fee {fee} yen is outside 0-10,000")
        return value

    @field_validator("fiscal_year")
    @classmethod
    def _covered(cls, value: int) -> int:
        years = covered_years()
        if value not in years or value + 1 not in years:
            raise ValueError(
                f"FY{value} needs the national holidays of {value} and {value + 1}; "
                f"rig/core/national_holidays.yaml covers {min(years)}-{max(years)}"
            )
        return value

    @property
    def stores_per_10k(self) -> float:
        return self.stores / self.population * 10_000


class Tier(_Strict):
    """Municipalities of one burden tier, participating ones pooled (linear in population)."""

    name: str
    kind: MunicipalityKind
    municipalities: int = Field(gt=0)
    participating: int = Field(ge=0)
    population: int = Field(gt=0, description="people living in the participating ones")
    representative_population: int = Field(gt=0, description="fixes the burden tier")
    stores_per_10k: float = Field(gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _counts(self) -> Tier:
        if self.participating > self.municipalities:
            raise ValueError("participating exceeds municipalities")
        return self


class Nation(_Strict):
    fiscal_year: int
    national_population: int = Field(gt=0)
    stores: int = Field(gt=0)
    card_penetration: float = Field(gt=0, le=1)
    reference_copies: int = Field(gt=0, description="the published total to check against")
    tolerance: float = Field(gt=0, lt=1)
    fees: dict[CertType, int]
    tiers: list[Tier] = Field(min_length=1)
    demand: DemandParams

    @field_validator("fiscal_year")
    @classmethod
    def _covered(cls, value: int) -> int:
        return Municipality._covered(value)


# -- loading ---------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    """The YAML mapping in `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DemandInputError(path, "(file)", f"cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DemandInputError(path, "(file)", f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DemandInputError(path, "(top level)", "expected a mapping of fields")
    return data


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return over


def _first_error(path: Path, exc: ValidationError) -> DemandInputError:
    err = exc.errors()[0]
    # pydantic marks a bad mapping key with a "[key]" step: the key itself names the field
    field = ".".join(str(p) for p in err["loc"] if p != "[key]") or "(top level)"
    problem = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "literal_error" and "input" in err:
        problem = f"unknown value {err['input']!r}: {problem}"
    return DemandInputError(path, field, problem)


def _validated(model: type[M], data: dict[str, Any], path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_error(path, exc) from None


def load_defaults(path: Path = DEFAULTS_FILE) -> DemandParams:
    return _validated(DemandParams, _read(path), path)


def _with_demand(path: Path, defaults: Path) -> dict[str, Any]:
    """The file at `path` with the defaults under its `demand:` overrides."""
    data = _read(path)
    load_defaults(defaults)  # a broken defaults file is named as such, not as `path`
    base = _read(defaults)
    over = data.get("demand") or {}
    if not isinstance(over, dict):
        raise DemandInputError(path, "demand", "expected a mapping of overrides")
    return {**data, "demand": _merge(base, over)}


def load_municipality(path: Path, defaults: Path = DEFAULTS_FILE) -> Municipality:
    """A municipality file with the defaults under its `demand:` overrides."""
    return _validated(Municipality, _with_demand(path, defaults), path)


def load_nation(path: Path = NATION_FILE, defaults: Path = DEFAULTS_FILE) -> Nation:
    return _validated(Nation, _with_demand(path, defaults), path)
