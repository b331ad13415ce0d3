"""Card profiles as data (profiles/cards.yaml) and the builder that turns one into a card.

A profile names a card form (My Number card, Juki card, Android, iPhone), a holder, and the
state of each application: certificate issue date, PIN tries, revocation, damage, the card
AP's identifiers. `build_card` issues the credentials with the test JPKI and lays out the
virtual card; the world builder may override the holder and the card-AP identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from emulators.card.application import Application
from emulators.card.card_ap import CardApApplication
from emulators.card.chip import VirtualCard
from emulators.card.faults import damage_certificate
from emulators.card.input_support_ap import InputSupportApplication
from emulators.card.jpki_ap import JpkiApplication
from emulators.card.pin import PinMode, ReferenceData
from rig.core.evidence import EvidenceStore
from rig.core.pki.jpki import Device, Holder, JpkiAuthority, Sex, UserCredentials
from rig.core.protocols.apdu import (
    ATR_JPKI,
    AUTH_PIN_TRIES,
    INPUT_SUPPORT_PIN_TRIES,
    SIGN_PIN_TRIES,
    TOKEN_JUKI_CARD,
    TOKEN_MY_NUMBER_CARD,
    TOKEN_SMARTPHONE,
)
from rig.core.protocols.card_ap import CardApInfo, derive_card_key, world_master_key

PROFILES_FILE = Path(__file__).with_name("profiles") / "cards.yaml"
#: A plain T=1 ATR for cards that are not JPKI cards at all.
ATR_GENERIC = bytes.fromhex("3B80800101")

DEFAULT_AUTH_PIN = "1234"
DEFAULT_SIGN_PASSWORD = "RIGTEST1"
DEFAULT_INPUT_SUPPORT_PIN = "1234"


class ProfileError(ValueError):
    """An unknown profile name or a profile file that does not match the schema."""


class Form(StrEnum):
    MYNUMBER_CARD = "mynumber_card"
    JUKI_CARD = "juki_card"
    ANDROID = "android"
    IPHONE = "iphone"


#: each form's card-type token (EF 0006 of the JPKI AP) and the device its certificates name
_FORMS = {
    Form.MYNUMBER_CARD: (TOKEN_MY_NUMBER_CARD, Device.CARD),
    Form.JUKI_CARD: (TOKEN_JUKI_CARD, Device.CARD),
    Form.ANDROID: (TOKEN_SMARTPHONE, Device.ANDROID),
    Form.IPHONE: (TOKEN_SMARTPHONE, Device.IPHONE),
}


class _Strict(BaseModel):
    """Profile data: unknown keys are errors, and a loaded profile does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HolderSpec(_Strict):
    holder_id: str
    name: str
    address: str
    birth_date: date
    sex: Literal["1", "2", "3"] = "3"
    my_number: str = Field(pattern=r"^[0-9]{12}$")

    def holder(self) -> Holder:
        return Holder(self.holder_id, self.name, self.address, self.birth_date, Sex(self.sex))


class PinSpec(_Strict):
    value: str | None = None
    tries_left: int | None = Field(default=None, ge=0, le=15)
    mode: Literal["pin", "not_usable", "device"] = "pin"


class RevokedSpec(_Strict):
    at: datetime
    reason: str = "unspecified"

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in x509.ReasonFlags.__members__:
            raise ValueError(f"reason must be one of {sorted(x509.ReasonFlags.__members__)}")
        return value


DamageTarget = Literal["auth_cert", "auth_ca_cert", "sign_cert", "sign_ca_cert"]


class JpkiSpec(_Strict):
    issued_at: datetime
    auth: bool = True
    sign: bool = True
    auth_pin: PinSpec = PinSpec()
    sign_pin: PinSpec = PinSpec()
    revoked: RevokedSpec | None = None
    damaged: list[DamageTarget] = []

    @field_validator("issued_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("issued_at needs a time zone (e.g. +09:00)")
        return value


class InputSupportSpec(_Strict):
    pin: PinSpec = PinSpec()


class CardApSpec(_Strict):
    municipality_code: str
    user_id: str
    key_version: int = 1


class CardProfile(_Strict):
    name: str
    description: str
    form: Form
    holder: str
    atr: str | None = None
    jpki: JpkiSpec | None = None
    input_support: InputSupportSpec | None = None
    card_ap: CardApSpec | None = None
    mute: bool = False
    expect: str = ""


class ProfileFile(_Strict):
    holders: dict[str, HolderSpec]
    profiles: dict[str, CardProfile]


@lru_cache(maxsize=4)
def _load(path: Path) -> ProfileFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, body in (raw.get("profiles") or {}).items():
            body.setdefault("name", name)
        data = ProfileFile.model_validate(raw)
    except (OSError, yaml.YAMLError, AttributeError, ValidationError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    for profile in data.profiles.values():
        if profile.holder not in data.holders:
            raise ProfileError(
                f"{path}: profile {profile.name} names unknown holder {profile.holder}"
            )
    return data


def profile_names(path: Path = PROFILES_FILE) -> list[str]:
    return list(_load(path).profiles)


def load_profile(name: str, path: Path = PROFILES_FILE) -> CardProfile:
    data = _load(path)
    if name not in data.profiles:
        raise ProfileError(f"unknown card profile {name!r}; known: {', '.join(data.profiles)}")
    return data.profiles[name]


def holder_spec(profile: CardProfile, path: Path = PROFILES_FILE) -> HolderSpec:
    return _load(path).holders[profile.holder]


@dataclass
class BuiltCard:
    """A card ready to insert, and what a test (or `rig card insert`) needs to know about it."""

    profile: CardProfile
    card: VirtualCard
    credentials: UserCredentials | None
    card_ap_info: CardApInfo | None
    pins: dict[str, str] = field(default_factory=dict)

    @property
    def mute(self) -> bool:
        return self.profile.mute


def _reference(spec: PinSpec, default: str, max_tries: int) -> ReferenceData:
    return ReferenceData.new(
        spec.value or default, max_tries, spec.tries_left, mode=PinMode(spec.mode)
    )


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def build_card(
    name: str,
    authority: JpkiAuthority,
    *,
    seed: str,
    evidence: EvidenceStore | None = None,
    holder: Holder | None = None,
    my_number: str | None = None,
    card_ap_info: CardApInfo | None = None,
    card_ap_key: bytes | None = None,
    path: Path = PROFILES_FILE,
) -> BuiltCard:
    """Build the virtual card of profile `name`; `seed` derives the card-AP master keys.

    `card_ap_key` gives the card-AP key outright (a test card an external issuance server
    registered) instead of deriving it from the seed's master key.
    """
    profile = load_profile(name, path)
    spec = holder_spec(profile, path)
    person = holder or spec.holder()
    number = my_number or spec.my_number
    apps: list[Application] = []
    pins: dict[str, str] = {}
    credentials: UserCredentials | None = None

    if profile.jpki is not None:
        j = profile.jpki
        token, device = _FORMS[profile.form]
        credentials = authority.issue_user(person, j.issued_at, device)
        if j.revoked is not None:
            authority.revoke(
                credentials.auth_serial, j.revoked.at, x509.ReasonFlags[j.revoked.reason]
            )
        # the four certificates, named as the credentials and the profile's `damaged` name them
        files = {name: _der(getattr(credentials, name)) for name in get_args(DamageTarget)}
        for target in j.damaged:
            files[target] = damage_certificate(files[target])
        auth_pin = _reference(j.auth_pin, DEFAULT_AUTH_PIN, AUTH_PIN_TRIES) if j.auth else None
        sign_pin = _reference(j.sign_pin, DEFAULT_SIGN_PASSWORD, SIGN_PIN_TRIES) if j.sign else None
        apps.append(
            JpkiApplication.build(
                token=token,
                auth_cert=files["auth_cert"] if j.auth else None,
                auth_ca_cert=files["auth_ca_cert"] if j.auth else None,
                auth_key=credentials.auth_key if j.auth else None,
                auth_pin=auth_pin,
                sign_cert=files["sign_cert"] if j.sign else None,
                sign_ca_cert=files["sign_ca_cert"] if j.sign else None,
                sign_key=credentials.sign_key if j.sign else None,
                sign_pin=sign_pin,
            )
        )
        if auth_pin is not None and auth_pin.mode is PinMode.PIN:
            pins["auth_pin"] = auth_pin.value.decode()
        if sign_pin is not None and sign_pin.mode is PinMode.PIN:
            pins["sign_password"] = sign_pin.value.decode()

    if profile.input_support is not None:
        is_pin = _reference(
            profile.input_support.pin, DEFAULT_INPUT_SUPPORT_PIN, INPUT_SUPPORT_PIN_TRIES
        )
        apps.append(
            InputSupportApplication.build(
                my_number=number,
                name=person.name,
                address=person.address,
                birth_date=person.birth_date,
                sex=person.sex.value,
                pin=is_pin,
            )
        )
        pins["input_support_pin"] = is_pin.value.decode()

    info = card_ap_info
    if info is None and profile.card_ap is not None:
        info = CardApInfo(
            municipality_code=profile.card_ap.municipality_code,
            user_id=profile.card_ap.user_id,
            key_version=profile.card_ap.key_version,
            card_kind="JUKI" if profile.form is Form.JUKI_CARD else "MYNA",
        )
    if info is not None:
        key = card_ap_key
        if key is None:
            key = derive_card_key(world_master_key(seed, info.municipality_code), info)
        apps.append(CardApApplication.build(info, key))

    atr = bytes.fromhex(profile.atr) if profile.atr else ATR_JPKI
    if profile.jpki is None and profile.atr is None:
        atr = ATR_GENERIC
    card = VirtualCard(apps, atr=atr, label=profile.name, evidence=evidence)
    return BuiltCard(profile, card, credentials, info, pins)
