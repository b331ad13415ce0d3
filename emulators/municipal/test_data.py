"""The emulated server's own test-data file, as an external issuance server would hand it over.

`export_test_data` registers, for up to `per_trait` residents of every trait in every hosted
municipality, one JPKI authentication-certificate serial (利用者登録) and one card-AP test card,
and describes them in the format of `rig.core.municipal_test_data`. Run stand-alone
(`rig municipal-server`), the emulated server then stands in for a municipality's server under
test, and the rig's external-server path runs end to end on this machine.
"""

from __future__ import annotations

import hashlib

from emulators.municipal.card_ap import card_key
from emulators.municipal.registry import TRAITS, Registry
from emulators.municipal.server import MunicipalServer
from rig.core.municipal_test_data import CardApTestUser, MunicipalityTestData, MunicipalTestData

#: the PIN of every exported card-AP test card
TEST_CARD_PIN = "2468"


def registration_serial(seed: str, resident_id: str) -> int:
    """A positive 63-bit serial, stable per seed and resident (as a registration desk keeps)."""
    digest = hashlib.sha256(f"{seed}\x00jpki-user\x00{resident_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 1) | (1 << 62)


def export_test_data(server: MunicipalServer, per_trait: int = 4) -> MunicipalTestData:
    registry = server.registry
    municipalities = []
    for config in server.configs:
        code = config.code
        residents = {t: registry.find_residents(code, t)[:per_trait] for t in TRAITS}
        residents["eligible"] = _with_housemates_of_the_removed(registry, code, residents)
        listed = sorted({rid for ids in residents.values() for rid in ids})
        jpki_users: dict[str, str] = {}
        card_users: list[CardApTestUser] = []
        for n, rid in enumerate(listed, start=1):
            # a municipality offering one method registers its users for that method only
            if "jpki" in config.auth_methods:
                serial = registration_serial(server.seed, rid)
                registry.register_jpki_user(serial, rid)
                jpki_users[rid] = f"{serial:x}"
            if "card_ap" not in config.auth_methods:
                continue
            user_id = f"X{code}{n:09d}"
            info = registry.register_card_ap_user(user_id, rid, TEST_CARD_PIN)
            card_users.append(
                CardApTestUser(
                    resident=rid,
                    user_id=user_id,
                    pin=TEST_CARD_PIN,
                    key=card_key(server.seed, info).hex(),
                    card_kind="MYNA",
                    key_version=info.key_version,
                )
            )
        municipalities.append(
            MunicipalityTestData(
                code=code,
                residents={t: ids for t, ids in residents.items() if ids},
                jpki_users=jpki_users,
                card_ap_users=card_users,
            )
        )
    return MunicipalTestData(
        description=f"emulated issuance server, seed {server.seed!r}",
        municipalities=municipalities,
    )


def _with_housemates_of_the_removed(
    registry: Registry, code: str, residents: dict[str, list[str]]
) -> list[str]:
    """The eligible residents listed, and an eligible housemate of each deceased or moved-out
    person listed: the scenario of removed persons (CERT-018) logs in as one of them."""
    eligible = list(residents.get("eligible", []))
    gone = [rid for trait in ("deceased", "moved_out") for rid in residents.get(trait, [])]
    households = {registry.resident(rid).household_id for rid in gone} - {None}
    if not households:
        return eligible
    for rid in registry.find_residents(code, "eligible"):
        household = registry.resident(rid).household_id
        if household in households:
            households.discard(household)
            if rid not in eligible:
                eligible.append(rid)
        if not households:
            break
    return eligible
