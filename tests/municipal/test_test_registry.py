"""The stand-alone issuance server's test-registry route (emulators/municipal/test_registry.py)
over real mutual TLS: a test resident's facts, a counter change and its undo, bad input."""

from __future__ import annotations

from datetime import date

import pytest

from emulators.municipal.api import PREFIX
from emulators.municipal.test_registry import TEST_REGISTRY_PATH, registry_routes
from rig.core.protocols import municipal_registry as protocol

from .conftest import CITY, World


@pytest.fixture
def registry_world(world: World) -> World:
    for method, handler in registry_routes(world.server.registry).items():
        world.server.http.add_route(method, PREFIX + TEST_REGISTRY_PATH, handler)
    return world


def test_a_resident_read_changed_and_restored(registry_world: World) -> None:
    w = registry_world
    rid = w.find(CITY, "seal_registered")
    with w.client() as http:
        path = w.urls["base"] + TEST_REGISTRY_PATH
        found = protocol.TestResident.model_validate(
            http.get(path, params={"resident": rid}).json()
        )
        info = w.server.registry.resident(rid)
        assert (found.resident, found.municipality, found.name) == (rid, CITY, info.name)
        assert found.household == info.household_id and len(found.resident_code) == 11
        changed = http.post(
            path, json={"resident": rid, "given_name": "改名", "address": "新町1丁目2番3号"}
        )
        assert changed.status_code == 200, changed.text
        after = protocol.TestResident.model_validate(changed.json())
        assert after.given_name == "改名" and after.address == "新町1丁目2番3号"
        assert "改名" in w.server.registry.resident(rid).name
        cancel = {"resident": rid, "seals_cancelled_on": date(2026, 11, 24).isoformat()}
        assert http.post(path, json=cancel).status_code == 200
        assert http.post(path, json={"resident": rid, "seals_cancelled_on": None}).is_success
        undo = {"resident": rid, "given_name": found.given_name, "address": found.address}
        restored = protocol.TestResident.model_validate(http.post(path, json=undo).json())
        assert restored == found


@pytest.mark.parametrize(
    ("method", "params", "body", "status", "code"),
    [
        ("GET", {"resident": "991015-99999"}, None, 404, "resident_not_found"),
        ("GET", {}, None, 422, "invalid_request"),
        ("POST", None, {"resident": "991015-99999", "given_name": "x"}, 404, "resident_not_found"),
        ("POST", None, {"resident": "991015-00001", "given_name": ""}, 422, "invalid_request"),
        ("POST", None, {"resident": "991015-00001", "x": 1}, 422, "invalid_request"),
        ("POST", None, [1], 400, "invalid_body"),
    ],
)
def test_bad_requests_get_a_problem(
    registry_world: World,
    method: str,
    params: dict[str, str] | None,
    body: object,
    status: int,
    code: str,
) -> None:
    with registry_world.client() as http:
        path = registry_world.urls["base"] + TEST_REGISTRY_PATH
        answer = http.request(method, path, params=params, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
