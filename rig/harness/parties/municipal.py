"""The municipal issuance server (証明発行サーバ): emulated, or one under test (a stand-in)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from emulators.municipal import MunicipalServer
from rig.core.drivers.municipal_test_clock import MunicipalTestClock
from rig.core.municipal_test_data import MunicipalTestData, load_test_data
from rig.core.party import PartyHealth
from rig.core.pki.tls import CertPair
from rig.harness.config import MunicipalParty
from rig.harness.parties.context import BuildContext, Lgwan, required
from rig.harness.selftest.variants import variant_class

#: how long `health()` waits for an external server to accept a connection (seconds)
PROBE_S = 2.0


def emulated(ctx: BuildContext) -> MunicipalServer:
    """The emulated server (or the variant a topology's selftest defect names)."""
    server = variant_class(ctx.options.topology, "municipal", MunicipalServer)(
        ctx.clock, ctx.evidence, ctx.folder / "municipal", ctx.options.municipalities, ctx.tls,
        seed=ctx.options.seed, cache_dir=ctx.options.registry_cache,
    )  # fmt: skip
    ctx.municipal_server = server
    return server


class ExternalIssuanceServer:
    """An issuance server under test, as the world sees it: its URLs and LGWAN credentials
    from the topology, its test residents and cards from its test-data file, and, when the
    test data declares one, its test-mode clock held at the world's rig clock."""

    def __init__(self, party: MunicipalParty, ctx: BuildContext):
        self.party = party
        self.clock = ctx.clock
        self.base = required(party.url).rstrip("/")
        self.test_data: MunicipalTestData = load_test_data(required(party.test_data))
        tls = required(party.tls)
        self.lgwan = Lgwan(CertPair(tls.client_cert, tls.client_key), tls.ca_bundle)
        self.test_clock: MunicipalTestClock | None = None
        if self.test_data.test_clock:
            self.test_clock = MunicipalTestClock(
                self.base, self.test_data.test_clock,
                client=self.lgwan.client, server_ca=self.lgwan.ca,
            )  # fmt: skip
        self._started = False
        #: the rig schedules no faults on a device under test
        self.faults: None = None

    def start(self) -> dict[str, str]:
        """`base` and one URL per municipality code its test data names."""
        urls = {"base": self.base}
        urls.update({c: f"{self.base}/municipalities/{c}" for c in self.test_data.codes})
        if self.test_clock is not None:
            try:
                self.test_clock.follow(self.clock)
            except BaseException:
                self.test_clock.close()
                raise
        self._started = True
        return urls

    def disconnect(self) -> None:
        """Release its calendar to its own time, once (nothing of the server is stopped)."""
        was_started, self._started = self._started, False
        if was_started and self.test_clock is not None:
            self.test_clock.stop()

    def stop(self) -> None:
        self.disconnect()

    def health(self) -> PartyHealth:
        """Up when started and its address accepts a TCP connection (no request is sent)."""
        if not self._started:
            return PartyHealth.down("not started, or stopped")
        parts = urlsplit(self.base)
        try:
            with socket.create_connection((parts.hostname or "", parts.port or 443), PROBE_S):
                return PartyHealth.ok()
        except OSError as exc:
            return PartyHealth.down(f"{parts.netloc}: {exc.strerror or exc}")


def external(ctx: BuildContext) -> ExternalIssuanceServer:
    topology = required(ctx.options.topology)
    server = ExternalIssuanceServer(topology.municipal, ctx)
    ctx.lgwan = server.lgwan
    ctx.test_data = server.test_data
    ctx.municipal_clock = server.test_clock
    return server


def offer(ctx: BuildContext, endpoints: dict[str, str]) -> dict[str, str]:
    """The centre takes the per-municipality URLs; the world's endpoints the base URL only."""
    ctx.municipal_urls = {code: url for code, url in endpoints.items() if code != "base"}
    return {"municipal_base_url": endpoints["base"]}
