"""The emulated issuance server's test-registry route, for `rig municipal-server`.

`describe` and `change` answer rig/core/protocols/municipal_registry.py for one `Registry`; the
rig calls them directly on the emulated server in its own process, and `registry_routes`
serves them over HTTPS for the stand-alone server, as a vendor's server would in test mode.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from emulators.municipal.models import Household, Person, Seal
from emulators.municipal.registry import Registry, full_name
from emulators.municipal.test_clock import invalid_request
from rig.core.https import Problem, Request
from rig.core.protocols.municipal_registry import ChangeTestResident, TestResident

#: where the stand-alone server serves it, under its API base
TEST_REGISTRY_PATH = "/test/registry"


def describe(registry: Registry, resident: str) -> TestResident:
    with registry.session() as s:
        person = s.get(Person, resident)
        if person is None:
            raise Problem(404, "resident_not_found", "Not found", f"no resident {resident}")
        household = s.get(Household, person.household_id) if person.household_id else None
        return TestResident(
            resident=person.id,
            municipality=person.municipality or "",
            household=person.household_id,
            name=full_name(person),
            given_name=person.given_name,
            kana=f"{person.family_kana} {person.given_kana}",
            address=household.address if household is not None else None,
            birth_date=person.birth_date,
            resident_code=person.resident_code,
            honseki_code=person.honseki_code,
        )


def change(registry: Registry, request: ChangeTestResident) -> TestResident:
    with registry.write_lock, registry.session() as s:
        person = s.get(Person, request.resident)
        if person is None:
            raise Problem(404, "resident_not_found", "Not found", f"no resident {request.resident}")
        if request.given_name is not None:
            person.given_name = request.given_name
        if request.address is not None:
            household = s.get(Household, person.household_id) if person.household_id else None
            if household is None:
                raise Problem(
                    409, "no_household", "Conflict", f"{request.resident} belongs to no household"
                )
            household.address = request.address
        if "seals_cancelled_on" in request.model_fields_set:
            for seal in s.scalars(select(Seal).where(Seal.person_id == request.resident)):
                seal.cancelled_on = request.seals_cancelled_on
        s.commit()
    return describe(registry, request.resident)


def registry_routes(registry: Registry, evidence: Any = None) -> dict[str, Any]:
    """`GET` and `POST` handlers of the test-registry route."""

    def get(r: Request) -> dict[str, Any]:
        resident = r.query.get("resident", "")
        if not resident or len(resident) > 64:
            raise Problem(422, "invalid_request", "Invalid request", "resident: a resident id")
        return describe(registry, resident).model_dump(mode="json")

    def post(r: Request) -> dict[str, Any]:
        request = r.parsed(ChangeTestResident, invalid_request)
        answer = change(registry, request)
        if evidence is not None:
            changed = sorted(request.model_fields_set - {"resident"})
            evidence.record("municipal-test-registry", "changed", fields=changed)
        return answer.model_dump(mode="json")

    return {"GET": get, "POST": post}


__all__ = ["TEST_REGISTRY_PATH", "change", "describe", "registry_routes"]
