"""Test data of an external municipal issuance server (証明発行サーバ) under test.

When the topology marks the municipal issuance server `external`, the rig cannot look into its
resident registry (住民基本台帳) or register cards with it. The server's operator hands the rig
a YAML file instead (docs/municipal-server-testing.md) naming, for each test municipality the
server hosts:

- `residents`: resident ids by trait (the traits of the emulated registry, e.g. `eligible`,
  `household_of_3`, `deceased`); a scenario asking for a trait the file does not list is
  reported "not run: no test data", never failed;
- `jpki_users`: resident id → the serial (hex) of the JPKI authentication certificate the
  server has registered for that resident (利用者登録); the rig issues that serial from its
  test JPKI so the centre verifies it by OCSP as usual;
- `card_ap_users`: the card-AP test cards the server knows: user id, PIN, the card's key
  (hex) and kind; the rig builds virtual cards that answer with that key.

`rig municipal-server` (the emulated server, stand-alone) writes such a file for itself, so
the whole path is exercised on this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rig.core.model_errors import load_model

#: The rig's test municipalities: an external server hosts them under these codes, with the
#: settings of emulators/municipal/municipalities/*.yaml (fees, types, hours, methods).
REFERENCE_CODES = ("991015", "992046", "993026", "993034", "993069")


class MunicipalDataError(ValueError):
    """A test-data file the rig cannot use; the message names the file and every problem."""


class NotInTestData(LookupError):
    """The external server's test data has no resident or card for what a scenario needs.

    The rig's pytest plugin reports such a scenario as skipped ("not run: no test data"),
    never as a pass or a failure of the server.
    """


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CardApTestUser(_Strict):
    """A card-AP (カードアプリケーション) test card the server has registered."""

    resident: str
    user_id: str = Field(pattern=r"^[0-9A-Z]{16}$")
    pin: str = Field(pattern=r"^[0-9]{4}$")
    key: str = Field(pattern=r"^[0-9a-fA-F]{32}$", description="the card's AES-128 key, hex")
    card_kind: Literal["MYNA", "JUKI"] = "MYNA"
    key_version: int = Field(default=1, ge=1, le=255)


class MunicipalityTestData(_Strict):
    code: str = Field(pattern=r"^[0-9]{6}$")
    residents: dict[str, list[str]] = Field(default_factory=dict)
    jpki_users: dict[str, str] = Field(default_factory=dict)
    card_ap_users: list[CardApTestUser] = Field(default_factory=list)

    @field_validator("jpki_users")
    @classmethod
    def _hex_serials(cls, users: dict[str, str]) -> dict[str, str]:
        for resident, serial in users.items():
            try:
                value = int(serial, 16)
            except ValueError:
                raise ValueError(f"{resident}: serial {serial!r} is not hex") from None
            if not 0 < value < 1 << 159:
                raise ValueError(f"{resident}: serial {serial!r} is out of range (RFC 5280)")
        return users

    def card_ap_user(self, resident: str) -> CardApTestUser:
        for user in self.card_ap_users:
            if user.resident == resident:
                return user
        raise NotInTestData(f"{self.code}: no card-AP test card for resident {resident}")

    def jpki_serial(self, resident: str) -> int:
        try:
            return int(self.jpki_users[resident], 16)
        except KeyError:
            raise NotInTestData(
                f"{self.code}: no registered JPKI certificate serial for resident {resident}"
            ) from None


class MunicipalTestData(_Strict):
    description: str = ""
    municipalities: list[MunicipalityTestData]
    #: The server's test-mode clock route, a path under the topology's `url` (e.g.
    #: ``/test/clock``; rig/core/protocols/municipal_clock.py); absent: its calendar cannot be moved
    test_clock: str | None = Field(default=None, pattern=r"^/[A-Za-z0-9._~/-]{1,200}$")
    #: The server's test-registry route, a path under the topology's `url` (e.g.
    #: ``/test/registry``; rig/core/protocols/municipal_registry.py); absent: the scenarios that
    #: read a test resident's hidden facts or change the registry are not applicable
    test_registry: str | None = Field(default=None, pattern=r"^/[A-Za-z0-9._~/-]{1,200}$")

    @field_validator("municipalities")
    @classmethod
    def _reference_codes(cls, found: list[MunicipalityTestData]) -> list[MunicipalityTestData]:
        codes = [m.code for m in found]
        if not codes:
            raise ValueError("name at least one municipality")
        if len(set(codes)) != len(codes):
            raise ValueError("a municipality is listed twice")
        unknown = sorted(set(codes) - set(REFERENCE_CODES))
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: not a rig test municipality "
                f"({', '.join(REFERENCE_CODES)}); the scenarios address these codes"
            )
        return found

    @property
    def codes(self) -> list[str]:
        return [m.code for m in self.municipalities]

    def municipality(self, code: str) -> MunicipalityTestData:
        for m in self.municipalities:
            if m.code == code:
                return m
        raise NotInTestData(f"the server under test hosts no test municipality {code}")

    def resident(self, code: str, trait: str, index: int = 0) -> str:
        found = self.municipality(code).residents.get(trait, [])
        if index >= len(found):
            raise NotInTestData(
                f"{code}: the test data names {len(found)} resident(s) with trait {trait!r}; "
                f"this scenario needs #{index + 1}"
            )
        return found[index]

    def residents(self, code: str, trait: str) -> list[str]:
        return list(self.municipality(code).residents.get(trait, []))

    def jpki_serial(self, code: str, resident: str) -> int:
        """The JPKI serial a card of `resident` carries when used at municipality `code`.

        One card, one authentication certificate: at the municipality of a resident's 本籍
        elsewhere (利用登録) the card carries the serial its home municipality lists.
        """
        try:
            return self.municipality(code).jpki_serial(resident)
        except NotInTestData:
            for other in self.municipalities:
                if resident in other.jpki_users:
                    return other.jpki_serial(resident)
            raise

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(self.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
        path.write_text(text, encoding="utf-8")


def load_test_data(path: Path | str) -> MunicipalTestData:
    """Read and validate a test-data file; `MunicipalDataError` names every problem."""
    return load_model(Path(path), MunicipalTestData, MunicipalDataError)
