"""The resident registry (住民基本台帳 and friends) of a world: queries, traits, kiosk-use users.

A world builder calls `register_jpki_user` / `register_card_ap_user` and picks residents
for test cases with `find_resident(municipality, trait=...)` (see `TRAITS`).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from emulators.municipal.identifiers import in_jis_x0208
from emulators.municipal.models import (
    CardApUser,
    Household,
    JpkiUser,
    KosekiRegistration,
    Person,
    Seal,
    TaxRecord,
)
from emulators.municipal.reasons import Refusal, RefusalCode
from rig.core.pki.serials import normalise_serial
from rig.core.protocols import card_ap as card_ap_protocol
from rig.core.protocols.card_ap import CardApInfo

#: Card-AP PINs are 4 digits, like the 住基カード/My Number card PINs the AP copies.
PIN_LENGTH = 4

TRAITS: dict[str, str] = {
    "eligible": "an adult resident who can get every 住民票-family certificate",
    **{
        f"household_of_{n}": f"an eligible member (heads first) of a household of {n}"
        for n in range(1, 8)
    },
    "household_of_8": "an eligible member (heads first) of a household of 8 or more (multi-page)",
    "dv_protected": "a person under a 支援措置 (DV protection) request",
    "dv_protected_in_household": "a person under a 支援措置 request in a household of several",
    "dv_housemate": "an adult (not protected) whose household has a 支援措置 protected member",
    "deceased": "a deceased person (死亡)",
    "moved_out": "a person who moved out (転出済): no longer a resident",
    "moving_out": "a person with a 転出届 filed (転出予定)",
    "household_moving_out": "an adult whose household has a member moving out",
    "moved_in_today": "an adult whose move-in (転入) date is today",
    "under_15": "a resident under 15",
    "non_jis_name": "an adult whose name is outside JIS X 0208",
    "seal_registered": "an eligible resident with a registered seal",
    "seal_cancelled": "an eligible resident whose seal registration is cancelled",
    "no_seal": "an eligible resident with no seal registration",
    "tax_record": "an eligible resident with a tax record for the latest fiscal year",
    "no_tax_record": "an eligible adult with no tax record",
    "koseki_here": "an eligible resident whose 戸籍 is held by the same municipality",
    "honseki_elsewhere_registered": "本籍 in another rig municipality, kiosk use registered",
    "honseki_elsewhere_pending": "本籍 in another rig municipality, registration not yet available",
    "honseki_elsewhere_unregistered": "本籍 in another rig municipality, not registered",
    "honseki_outside_rig": "本籍 in a municipality the rig does not emulate",
    "every_type": "an eligible resident who can get every type the municipality offers "
    "(registered seal, tax record, 戸籍 held here)",
}


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def latest_fiscal_year(today: date) -> int:
    # a fiscal year's 住民税 is determined in June
    return today.year if today.month >= 6 else today.year - 1


def full_name(person: Person) -> str:
    return f"{person.family_name} {person.given_name}"


@dataclass(frozen=True)
class ResidentInfo:
    """What a test may know about a resident (no My Number, no 住民票コード)."""

    id: str
    municipality: str | None
    household_id: str | None
    name: str
    kana: str
    birth_date: date
    sex: str
    relationship: str
    status: str
    household_size: int
    honseki_code: str | None
    koseki_id: str | None


class Registry:
    """One world's registry file. Reads run concurrently; writes hold `write_lock`."""

    def __init__(self, path: Path, today: Callable[[], date]):
        self.path = Path(path)
        self.today = today
        self.engine: Engine = create_engine(
            f"sqlite:///{self.path}",
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=10,
            max_overflow=60,
        )
        event.listen(self.engine, "connect", _sqlite_pragmas)
        #: a new database session (`with registry.session() as s:`)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        self.write_lock = threading.RLock()

    def close(self) -> None:
        self.engine.dispose()

    # -- world builder API -----------------------------------------------------------------
    def register_jpki_user(self, cert_serial: str | int, resident_id: str) -> None:
        """Map a JPKI authentication certificate serial to a resident (利用者登録)."""
        serial = normalise_serial(cert_serial)
        with self.write_lock, self.session() as s:
            if s.get(Person, resident_id) is None:
                raise KeyError(f"no resident {resident_id}")
            s.merge(JpkiUser(cert_serial=serial, person_id=resident_id))
            s.commit()

    def register_card_ap_user(
        self,
        user_id: str,
        resident_id: str,
        pin: str,
        *,
        key_version: int = 1,
        card_kind: str = "MYNA",
    ) -> CardApInfo:
        """Register a card-AP user (16 characters 0-9 A-Z) of the resident's municipality.

        Returns the card's public identifiers, which a world builder writes to the card
        (`emulators.card` builds the card AP from them and the world seed).
        """
        if len(pin) != PIN_LENGTH or not pin.isdigit():
            raise ValueError(f"a card-AP PIN is {PIN_LENGTH} digits")
        with self.write_lock, self.session() as s:
            person = s.get(Person, resident_id)
            if person is None or person.municipality is None:
                raise KeyError(f"no resident {resident_id}")
            info = CardApInfo(person.municipality, user_id, key_version, card_kind)
            salt = secrets.token_bytes(16)
            s.merge(
                CardApUser(
                    user_id=user_id,
                    person_id=resident_id,
                    municipality=person.municipality,
                    key_version=key_version,
                    card_kind=card_kind,
                    pin_salt=salt,
                    pin_hash=card_ap_protocol.hash_pin(pin, salt),
                    failed=0,
                )
            )
            s.commit()
        return info

    def resident(self, resident_id: str) -> ResidentInfo:
        with self.session() as s:
            p = s.get(Person, resident_id)
            if p is None:
                raise KeyError(f"no resident {resident_id}")
            size = 0
            if p.household_id is not None:
                active_members = (Person.household_id == p.household_id, Person.status == "active")
                size = s.scalar(select(func.count()).where(*active_members)) or 0
            return ResidentInfo(
                id=p.id,
                municipality=p.municipality,
                household_id=p.household_id,
                name=full_name(p),
                kana=f"{p.family_kana} {p.given_kana}",
                birth_date=p.birth_date,
                sex=p.sex,
                relationship=p.relationship,
                status=p.status,
                household_size=size,
                honseki_code=p.honseki_code,
                koseki_id=p.koseki_id,
            )

    def find_residents(self, municipality: str, trait: str) -> list[str]:
        """Every resident of `municipality` with `trait` (household heads first)."""
        if trait not in TRAITS:
            raise ValueError(f"unknown trait {trait!r}; known: {', '.join(TRAITS)}")
        today = self.today()
        with self.session() as s:
            people = s.scalars(
                select(Person).where(Person.municipality == municipality).order_by(Person.id)
            ).all()
            if not people:
                raise KeyError(f"no residents in municipality {municipality!r}")
            households: dict[str, list[Person]] = {}
            for p in people:
                if p.household_id is not None:
                    households.setdefault(p.household_id, []).append(p)
            seals: dict[str, list[Seal]] = {}
            for seal in s.scalars(
                select(Seal)
                .join(Person, Seal.person_id == Person.id)
                .where(Person.municipality == municipality)
            ):
                seals.setdefault(seal.person_id, []).append(seal)
            newest = latest_fiscal_year(today)
            taxed = set(
                s.scalars(
                    select(TaxRecord.person_id)
                    .join(Person, TaxRecord.person_id == Person.id)
                    .where(Person.municipality == municipality, TaxRecord.fiscal_year == newest)
                )
            )
            regs: dict[str, KosekiRegistration] = {
                r.person_id: r
                for r in s.scalars(
                    select(KosekiRegistration)
                    .join(Person, KosekiRegistration.person_id == Person.id)
                    .where(Person.municipality == municipality)
                )
            }
            rig_codes = set(s.scalars(select(Household.municipality).distinct()))

        def household(p: Person) -> list[Person]:
            return households.get(p.household_id or "", [p])

        def active(members: list[Person]) -> list[Person]:
            return [m for m in members if m.status == "active"]

        def adult(p: Person) -> bool:
            return age_on(p.birth_date, today) >= 15

        def eligible(p: Person) -> bool:
            hh = active(household(p))
            return (
                p.status == "active"
                and adult(p)
                and p.address_since != today
                and all(not m.dv_protected and m.moving_out_on is None for m in hh)
                and all(in_jis_x0208(m.family_name + m.given_name) for m in hh)
            )

        def elsewhere(p: Person) -> bool:
            return (
                p.honseki_code is not None
                and p.honseki_code in rig_codes
                and p.honseki_code != municipality
            )

        def size(p: Person) -> int:
            return len(active(household(p)))

        def live_seal(p: Person) -> bool:
            return any(x.cancelled_on is None for x in seals.get(p.id, []))

        def koseki_here(p: Person) -> bool:
            return p.honseki_code == municipality and p.koseki_id is not None

        checks: dict[str, Callable[[Person], bool]] = {
            "eligible": eligible,
            "household_of_8": lambda p: eligible(p) and size(p) >= 8,
            "dv_protected": lambda p: p.dv_protected and p.status == "active",
            "dv_protected_in_household": lambda p: (
                p.dv_protected and p.status == "active" and size(p) >= 2
            ),
            "dv_housemate": lambda p: (
                p.status == "active"
                and adult(p)
                and not p.dv_protected
                and any(m.dv_protected for m in active(household(p)))
            ),
            "deceased": lambda p: p.status == "deceased",
            "moved_out": lambda p: p.status == "moved_out",
            "moving_out": lambda p: p.moving_out_on is not None and p.status == "active",
            "household_moving_out": lambda p: (
                p.status == "active"
                and adult(p)
                and p.moving_out_on is None
                and any(m.moving_out_on is not None for m in active(household(p)))
            ),
            "moved_in_today": lambda p: (
                p.status == "active" and adult(p) and p.address_since == today
            ),
            "under_15": lambda p: p.status == "active" and not adult(p) and not p.dv_protected,
            "non_jis_name": lambda p: (
                p.status == "active" and adult(p) and not in_jis_x0208(p.family_name + p.given_name)
            ),
            "seal_registered": lambda p: eligible(p) and live_seal(p),
            "seal_cancelled": lambda p: (
                eligible(p)
                and bool(seals.get(p.id))
                and all(x.cancelled_on is not None for x in seals[p.id])
            ),
            "no_seal": lambda p: eligible(p) and not seals.get(p.id),
            "tax_record": lambda p: eligible(p) and p.id in taxed,
            "no_tax_record": lambda p: eligible(p) and p.id not in taxed,
            "koseki_here": lambda p: eligible(p) and koseki_here(p),
            "honseki_elsewhere_registered": lambda p: (
                eligible(p) and elsewhere(p) and p.id in regs and regs[p.id].available_on <= today
            ),
            "honseki_elsewhere_pending": lambda p: (
                eligible(p) and elsewhere(p) and p.id in regs and regs[p.id].available_on > today
            ),
            "honseki_elsewhere_unregistered": lambda p: (
                eligible(p) and elsewhere(p) and p.id not in regs
            ),
            "honseki_outside_rig": lambda p: eligible(p) and p.honseki_code is None,
            "every_type": lambda p: (
                eligible(p) and live_seal(p) and p.id in taxed and koseki_here(p)
            ),
        }

        def of_size(n: int) -> Callable[[Person], bool]:
            return lambda p: eligible(p) and size(p) == n

        for n in range(1, 8):
            checks[f"household_of_{n}"] = of_size(n)
        check = checks[trait]
        found = [p for p in people if check(p)]
        found.sort(key=lambda p: (p.relationship != "世帯主", p.id))
        return [p.id for p in found]

    def find_resident(self, municipality: str, trait: str = "eligible", index: int = 0) -> str:
        """The `index`-th resident of `municipality` with `trait` (deterministic)."""
        found = self.find_residents(municipality, trait)
        if index >= len(found):
            raise LookupError(f"only {len(found)} residents of {municipality} have trait {trait!r}")
        return found[index]

    # -- authentication --------------------------------------------------------------------
    def person_for_serial(self, cert_serial: str) -> str:
        try:
            serial = normalise_serial(cert_serial)
        except ValueError as exc:
            raise Refusal(RefusalCode.USER_NOT_REGISTERED, str(exc)) from None
        with self.session() as s:
            user = s.get(JpkiUser, serial)
            if user is None:
                raise Refusal(RefusalCode.USER_NOT_REGISTERED, "no user registered for that serial")
            return user.person_id

    def card_ap_user(self, user_id: str) -> tuple[str, CardApInfo]:
        """(person id, the card's public identifiers) of a card-AP user."""
        with self.session() as s:
            user = s.get(CardApUser, user_id)
            if user is None:
                raise Refusal(RefusalCode.CARD_AP_USER_UNKNOWN)
            info = CardApInfo(user.municipality, user.user_id, user.key_version, user.card_kind)
            return user.person_id, info

    def verify_pin(self, user_id: str, pin: str, max_tries: int) -> None:
        """Check a card-AP PIN; the try counter locks the user after `max_tries` misses."""
        with self.write_lock, self.session() as s:
            user = s.get(CardApUser, user_id)
            if user is None:
                raise Refusal(RefusalCode.CARD_AP_USER_UNKNOWN)
            if user.failed >= max_tries:
                raise Refusal(RefusalCode.PIN_LOCKED, tries_left=0)
            ok = card_ap_protocol.check_pin(pin, user.pin_salt, user.pin_hash)
            user.failed = 0 if ok else user.failed + 1
            s.commit()
            if ok:
                return
            left = max(0, max_tries - user.failed)
            if left == 0:
                raise Refusal(RefusalCode.PIN_LOCKED, tries_left=0)
            raise Refusal(RefusalCode.PIN_INCORRECT, tries_left=left)


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
