"""Municipality configuration, one YAML file per municipality (municipalities/*.yaml).

A file sets the municipality's identity, fees per certificate type (`CATALOG`), paper size
per type, service hours, closed weekdays and dates, 戸籍 hours, maintenance windows and the
size of its generated registry. `load_municipalities()` reads the bundled files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emulators.municipal.identifiers import local_government_check_digit

BUNDLED = Path(__file__).with_name("municipalities")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Paper = Literal["A4", "A5"]
#: The authentication methods (認証方式) a municipality may offer (seed I.1 (4), II.3 (8)).
AuthMethodName = Literal["jpki", "card_ap"]


@dataclass(frozen=True)
class CertType:
    type: str
    variant: str | None
    title: str
    options: tuple[str, ...]

    @property
    def fee_key(self) -> str:
        return f"{self.type}.{self.variant}" if self.variant else self.type


#: The certificate types (seed I.1) a municipality may offer, in the order of its menu.
CATALOG: tuple[CertType, ...] = (
    CertType(
        "resident_record",
        None,
        "住民票の写し",
        ("scope", "members", "include_honseki", "include_head_relationship", "include_my_number"),
    ),
    CertType(
        "resident_record_entries",
        None,
        "住民票記載事項証明書",
        ("include_honseki", "include_head_relationship"),
    ),
    CertType("seal_registration", None, "印鑑登録証明書", ()),
    CertType("tax_certificate", "income", "所得証明書", ("fiscal_year",)),
    CertType("tax_certificate", "assessment", "課税証明書", ("fiscal_year",)),
    CertType("tax_certificate", "payment", "納税証明書", ("fiscal_year",)),
    CertType("koseki", "full", "戸籍全部事項証明書", ()),
    CertType("koseki", "individual", "戸籍個人事項証明書", ()),
    CertType("fuhyo", None, "戸籍の附票の写し", ("scope",)),
)
#: Fee keys: certificate type, or type.variant for tax certificates and 戸籍証明書.
FEE_KEYS = tuple(c.fee_key for c in CATALOG)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hours(_Strict):
    """A daily window [start, end); `end` earlier than `start` means it runs past midnight."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class KosekiHours(Hours):
    weekdays_only: bool = True


class MaintenanceWindow(_Strict):
    start: datetime
    end: datetime
    note: str = ""

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone offset, e.g. +09:00")
        return value


class RecurringMaintenance(_Strict):
    """Every listed weekday from `start` to `end` (next day when `end` <= `start`)."""

    weekdays: list[Weekday]
    start: time
    end: time
    note: str = ""


class RegistrySize(_Strict):
    households: int = Field(ge=20, le=5000)


class MunicipalityConfig(_Strict):
    code: str = Field(pattern=r"^\d{6}$", description="全国地方公共団体コード with check digit")
    name: str
    prefecture: str
    office: str
    mayor: str
    kind: Literal["city", "town", "village", "ward"]
    population: int
    service_hours: Hours
    closed_weekdays: list[Weekday] = []
    closed_on_national_holidays: bool = False
    closed_dates: list[date] = []
    koseki_hours: KosekiHours | None = None
    maintenance: list[MaintenanceWindow] = []
    recurring_maintenance: list[RecurringMaintenance] = []
    fees: dict[str, int]
    paper: dict[str, Paper] = {}
    max_copies: int = Field(default=10, ge=1, le=99)
    card_ap_pin_tries: int = Field(default=3, ge=1, le=15)
    koseki_registration_days: int = Field(default=5, ge=0, le=60)
    #: JPKI only is allowed (the card AP needs the IC card standard system, seed II.3 (8))
    auth_methods: list[AuthMethodName] = Field(default=["jpki", "card_ap"], min_length=1)
    #: where this municipality's 本籍-elsewhere fixtures keep their 戸籍; unset: the next
    #: municipality in code order among those that set no partner
    honseki_partner: str | None = Field(default=None, pattern=r"^\d{6}$")
    registry: RegistrySize

    @field_validator("code")
    @classmethod
    def _check_digit(cls, value: str) -> str:
        if local_government_check_digit(value[:5]) != int(value[5]):
            raise ValueError(f"{value}: wrong check digit")
        return value

    @field_validator("fees")
    @classmethod
    def _fee_keys(cls, value: dict[str, int]) -> dict[str, int]:
        for key, fee in value.items():
            if key not in FEE_KEYS:
                raise ValueError(f"unknown fee key {key!r}; known: {', '.join(FEE_KEYS)}")
            if not 0 <= fee <= 10000:
                raise ValueError(f"fee {key}={fee} out of range")
        return value

    def paper_for(self, cert_type: str) -> Paper:
        return self.paper.get(cert_type, DEFAULT_PAPER.get(cert_type, "A4"))


#: The rig's choice of A5 types (documented in docs/municipal.md): single-page certificates.
DEFAULT_PAPER: dict[str, Paper] = {"seal_registration": "A5", "resident_record_entries": "A5"}


def load_municipality(path: Path) -> MunicipalityConfig:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return MunicipalityConfig.model_validate(data)


def load_municipalities(paths: list[Path] | None = None) -> list[MunicipalityConfig]:
    """The given YAML files, or every bundled one, in code order; codes must be unique."""
    files = paths if paths is not None else sorted(BUNDLED.glob("*.yaml"))
    configs = sorted((load_municipality(p) for p in files), key=lambda c: c.code)
    codes = [c.code for c in configs]
    if len(set(codes)) != len(codes):
        raise ValueError(f"duplicate municipality codes in {files}")
    return configs
