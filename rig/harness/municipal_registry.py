"""A test resident's hidden facts and counter changes, whichever issuance server is tested.

Scenarios that check what the server must never print (a 住民票コード), who is left out of a
household (a deceased or moved-out member), which 本籍 a card carries, or that change the
registry between two requests (a new name and address, a seal registration cancelled) use a
`Counter` (窓口): on the emulated server in the rig's process it reads and writes the registry
directly; on an external server it uses the server's test-registry route declared in its test
data (`test_registry`, rig/core/protocols/municipal_registry.py). The pytest plugin reports a
scenario marked `municipal_registry` "not applicable" against a server that declares none.

Every change is undone when the scenario ends (`restore`): an external server's registry
outlives the scenario, and the next one must find the test data as written.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from rig.core.drivers.kiosk_extensions import ExtensionError, extension_call
from rig.core.https import https_client
from rig.core.pki.tls import CertPair
from rig.core.protocols.municipal_registry import ChangeTestResident, TestResident

if TYPE_CHECKING:
    from pathlib import Path

    from rig.harness.world import World


class _Route:
    """The external server's test-registry route; every misbehaviour is an ExtensionError."""

    def __init__(self, base_url: str, path: str, *, client: CertPair, server_ca: Path):
        self.path = path
        self.base_url = base_url.rstrip("/")
        self.http = https_client(self.base_url, client=client, server_ca=server_ca)

    def close(self) -> None:
        self.http.close()

    def call(self, resident: str, body: BaseModel | None = None) -> TestResident:
        sent = body.model_dump(mode="json", exclude_unset=True) if body is not None else None
        method = "GET" if body is None else "POST"
        params = {"resident": resident} if body is None else None
        route = f"{method} {self.base_url}{self.path}" + (
            f"?resident={resident}" if body is None else f" {sent}"
        )
        found = extension_call(
            self.http, method, self.path, sent, TestResident, route=route, params=params
        )
        if found.resident != resident:
            raise ExtensionError(f"{route}: answered resident {found.resident}, not {resident}")
        return found


class Counter:
    """Reads a test resident's facts and records counter changes (窓口), undone at the end."""

    def __init__(self, world: World):
        self.world = world
        self._route: _Route | None = None
        self._undo: list[ChangeTestResident] = []
        data = world.test_data
        if data is not None:
            if not data.test_registry:
                raise RuntimeError(
                    "the issuance server's test data declares no test_registry: this scenario "
                    "reads or changes its registry (mark it municipal_registry)"
                )
            party = world.options.topology.external_municipal if world.options.topology else None
            tls = party.tls if party is not None else None
            if tls is None:
                raise RuntimeError("the external issuance server's topology names no TLS files")
            self._route = _Route(
                world.endpoints["municipal_base_url"], data.test_registry,
                client=CertPair(tls.client_cert, tls.client_key), server_ca=tls.ca_bundle,
            )  # fmt: skip

    def resident(self, resident: str) -> TestResident:
        if self._route is not None:
            return self._route.call(resident)
        from emulators.municipal.test_registry import describe

        return describe(self.world.municipal.registry, resident)

    def change(self, resident: str, **fields: Any) -> TestResident:
        request = ChangeTestResident(resident=resident, **fields)
        before = self.resident(resident)
        undo: dict[str, Any] = {}
        if "given_name" in fields:
            undo["given_name"] = before.given_name
        if "address" in fields and before.address is not None:
            undo["address"] = before.address
        if "seals_cancelled_on" in fields:
            undo["seals_cancelled_on"] = None
        self._undo.append(ChangeTestResident(resident=resident, **undo))
        after = self._apply(request)
        for name in ("given_name", "address"):
            asked, answered = getattr(request, name), getattr(after, name)
            if asked is not None and answered != asked:
                raise ExtensionError(
                    f"POST {self._where()}: asked for {name} {asked!r}, "
                    f"the server answered {answered!r}"
                )
        return after

    def cancel_seals(self, resident: str, on: date) -> TestResident:
        return self.change(resident, seals_cancelled_on=on)

    def _where(self) -> str:
        return f"{self._route.base_url}{self._route.path}" if self._route else "the registry"

    def _apply(self, request: ChangeTestResident) -> TestResident:
        if self._route is not None:
            return self._route.call(request.resident, request)
        from emulators.municipal.test_registry import change

        return change(self.world.municipal.registry, request)

    def restore(self) -> None:
        """Undo every change, newest first."""
        try:
            while self._undo:
                self._apply(self._undo.pop())
        finally:
            if self._route is not None:
                self._route.close()


__all__ = ["Counter"]
