"""The kiosk's link to the centre and what it tells the centre (seed I.1 (2) 通信の安全対策).

The kiosk under test is judged at its centre interface. Two instruments, both rig-side:

- `CentreTap`: a TLS endpoint with the centre's own server certificate that the kiosk is
  pointed at instead of the centre; it requires the kiosk's client certificate, records every
  request the kiosk sends (method, path, headers, body) and relays it unchanged to the real
  centre with the same client certificate. It is a wire tap on the kiosk→centre link, so a
  scenario can read what the kiosk asked for (members, items, copies) and what it never sent
  (a JPKI PIN), without looking inside any party.
- `RawListener`: a plain TCP listener that records the first bytes of every connection and
  then hangs up: a kiosk that fell back to plain HTTP would write an HTTP request line.

Worlds here are built by `kiosk_world(**kiosk_overrides)`, because the overrides (the tap's
URL, another trust anchor) exist only once the test runs. An external kiosk takes them through
the robot protocol's configuration extension (rig/harness/kiosk_reconfigure.py), with the kit's TLS
files (`kiosk_tls`) in place of the scenarios' own.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Unpack
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.https import client_ssl_context, server_ssl_context
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.tls import CertPair, TlsMaterial
from rig.core.protocols.apdu import AID_CARD_SURFACE, AID_INPUT_SUPPORT, AID_JPKI
from rig.core.protocols.robot import ScreenId
from rig.harness.config import Topology
from rig.harness.kiosk_kit import kit_tls
from rig.harness.kiosk_steps import (
    apply_and_pay,
    authenticate,
    choose_through_to_confirmation,
    take_everything,
)
from rig.harness.world import CARD_AP_PIN, KIOSK_ID, KioskOverrides, World, WorldOptions
from scenarios.conftest import SCENARIO_SEED

# the kiosk is pointed at a tap or a wrong centre per scenario: the reference kiosk, or an
# external one that declares the configuration extension
pytestmark = pytest.mark.kiosk_config("centre_url", "application")

KioskWorld = Callable[..., World]
#: The centre's kiosk API base path (docs/api/centre.openapi.yaml).
CENTRE_BASE_PATH = "/v1"
_HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class CentreTap:
    """A recording TLS relay between the kiosk and the centre (see the module docstring)."""

    tls: TlsMaterial
    certificate: CertPair | None = None
    target: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    handshakes_refused: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> CentreTap:
        tap = self
        context = server_ssl_context(self.certificate or self.tls.server(), [self.tls.kiosk_ca])

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                seen = Exchange(self.command, self.path, dict(headers), body)
                tap.exchanges.append(seen)
                assert tap.target is not None, "the tap has no centre to relay to yet"
                with httpx.Client(
                    verify=client_ssl_context(tap.tls.kiosk_client(KIOSK_ID), tap.tls.server_ca),
                    timeout=30,
                ) as client:
                    answer = client.request(
                        self.command, tap.target + self.path, content=body, headers=headers
                    )
                seen.status = answer.status_code
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in _HOP_HEADERS | {"content-encoding"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = relay

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                raw, address = self.socket.accept()
                try:
                    return context.wrap_socket(raw, server_side=True), address
                except (ssl.SSLError, OSError):
                    tap.handshakes_refused += 1
                    raw.close()
                    raise

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def paths(self, method: str | None = None) -> list[str]:
        return [e.path for e in self.exchanges if method in (None, e.method)]

    def bodies(self, suffix: str) -> list[Any]:
        return [e.json() for e in self.exchanges if e.path.endswith(suffix)]


class RawListener:
    """Plain TCP: records each connection's first bytes, answers nothing, hangs up."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.first_bytes: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.first_bytes.append(conn.recv(64))
                except OSError:
                    self.first_bytes.append(b"")

    def close(self) -> None:
        self.sock.close()


def misnamed_server_certificate(tls: TlsMaterial, folder: Path) -> CertPair:
    """A server certificate from the centre's own CA, but for another host name."""
    ca = tls.ca("server")
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other.invalid")]))
        .issuer_name(ca.load_cert().subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("other.invalid")]), False)
        .sign(ca_key, hashes.SHA256())
    )
    pair = CertPair(folder / "misnamed.crt", folder / "misnamed.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pair


@pytest.fixture
def kiosk_tls(scenario_tls: TlsMaterial, topology: Topology) -> TlsMaterial:
    """What the kiosk under test trusts and presents: the kit's TLS files for an external one."""
    return kit_tls(topology) if topology.external_kiosk is not None else scenario_tls


@pytest.fixture
def kiosk_world(
    tmp_path: Path,
    rig_clock: RigClock,
    evidence: EvidenceStore,
    card_slot: VirtualCardSlot,
    scenario_pki: JpkiAuthority,
    kiosk_tls: TlsMaterial,
    registry_cache: Path,
    topology: Topology,
) -> Iterator[KioskWorld]:
    """Build the scenario world with kiosk overrides known only at run time."""
    built: list[World] = []

    def build(**kiosk_overrides: Unpack[KioskOverrides]) -> World:
        options = WorldOptions(
            seed=SCENARIO_SEED, registry_cache=registry_cache, marks="layout",
            with_verification_site=False, kiosk_overrides=kiosk_overrides, topology=topology,
        )  # fmt: skip
        world = World.build(
            tmp_path / "world", rig_clock, evidence, slot=card_slot, authority=scenario_pki,
            tls=kiosk_tls, options=options,
        )  # fmt: skip
        built.append(world)
        return world

    yield build
    for world in built:
        world.stop()


@pytest.fixture
def tap(kiosk_tls: TlsMaterial) -> Iterator[CentreTap]:
    started = CentreTap(kiosk_tls).start()
    yield started
    started.stop()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def tapped(kiosk_world: KioskWorld, tap: CentreTap) -> World:
    """A world whose kiosk reaches the centre through `tap` (same base path as the centre)."""
    world = kiosk_world(centre_url=tap.url + CENTRE_BASE_PATH)
    assert world.endpoints["center_url"].rstrip("/").endswith(CENTRE_BASE_PATH)
    tap.target = origin(world.endpoints["center_url"])
    return world


def centre_requests(world: World) -> list[dict[str, Any]]:
    """Requests the centre received and answered (its own HTTP evidence)."""
    assert world.evidence is not None
    return [r for r in world.evidence.records("centre-http") if r["event"] == "request"]


def notice_after_card(world: World, profile: str = "mynumber-valid") -> str:
    """Place a card of `profile`, enter its PIN if asked; the notice code the kiosk ends on."""
    card = world.issue_card(profile, world.resident())
    c = world.customer
    c.place_card(card.card)
    view = c.wait_for(ScreenId.PIN, ScreenId.NOTICE, ScreenId.CARD_REMOVAL)
    if view.screen is ScreenId.PIN:
        view = c.enter_pin(card.pins["auth_pin"])
    view = c.wait_for(ScreenId.NOTICE, ScreenId.CARD_REMOVAL)
    assert view.screen is ScreenId.NOTICE, f"the kiosk went on: {view.screen}"
    assert world.robot.held().empty
    return str(view.facts["code"])


# -- SEC-001: TLS only, no fall-back ---------------------------------------------------------
@pytest.mark.requirement("SEC-001")
def test_every_message_of_a_transaction_goes_over_tls_with_the_kiosk_certificate(
    kiosk_world: KioskWorld, tap: CentreTap
) -> None:
    world = tapped(kiosk_world, tap)
    card = world.issue_card("mynumber-valid", world.resident())
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    assert apply_and_pay(world).screen is ScreenId.TAKE_REMINDER
    take_everything(world)
    # the tap speaks TLS only and demands the kiosk CA's client certificate
    assert len(tap.exchanges) >= 6, "session, auth, menu, request, document, payment, completion"
    assert tap.handshakes_refused == 0
    via_tap = [(e.method, e.path) for e in tap.exchanges]
    at_centre = [(r["method"], r["path"]) for r in centre_requests(world)]
    assert via_tap == at_centre, "nothing reached the centre around the TLS link"
    assert {r["peer"] for r in centre_requests(world)} == {KIOSK_ID}


@pytest.mark.requirement("SEC-001")
def test_no_fall_back_to_plain_http_when_tls_fails(kiosk_world: KioskWorld) -> None:
    raw = RawListener()
    try:
        world = kiosk_world(centre_url=f"https://127.0.0.1:{raw.port}")
        code = notice_after_card(world)
    finally:
        raw.close()
    assert code == "centre_unreachable"
    assert raw.first_bytes, "the kiosk never tried to reach its centre"
    for first in raw.first_bytes:
        assert first[:1] in (b"\x16", b""), f"not a TLS handshake: {first[:16]!r}"
        assert not first.split(b" ")[0].isalpha(), "an HTTP request in clear text"


@pytest.mark.requirement("SEC-001")
def test_a_plain_http_centre_url_gets_no_request_in_clear(kiosk_world: KioskWorld) -> None:
    raw = RawListener()
    try:
        world = kiosk_world(centre_url=f"http://127.0.0.1:{raw.port}")
        code = notice_after_card(world)
    finally:
        raw.close()
    assert code == "centre_unreachable"
    clear = [f for f in raw.first_bytes if f.split(b" ")[0] in (b"GET", b"POST", b"PUT")]
    assert not clear, f"the kiosk sent plain HTTP: {clear[0][:24]!r}"


# -- SEC-002: the centre's certificate must chain to the trust anchor and name the centre ----
@pytest.mark.requirement("SEC-002")
@pytest.mark.kiosk_config("trust_anchor", "application")
@pytest.mark.parametrize("anchor", ["kiosk", "lgpki"])
def test_a_centre_outside_the_trust_anchor_gets_nothing(
    kiosk_world: KioskWorld, kiosk_tls: TlsMaterial, anchor: str
) -> None:
    other_ca = kiosk_tls.kiosk_ca if anchor == "kiosk" else kiosk_tls.lgpki_ca
    world = kiosk_world(server_ca=other_ca)
    assert notice_after_card(world) == "centre_unreachable"
    assert centre_requests(world) == [], "no request may reach an untrusted centre"
    assert world.evidence is not None
    assert not list(world.evidence.records("centre")), "no session, no authentication"


@pytest.mark.requirement("SEC-002")
def test_a_centre_certificate_for_another_name_gets_nothing(
    kiosk_world: KioskWorld, kiosk_tls: TlsMaterial, tmp_path: Path
) -> None:
    wrong = CentreTap(kiosk_tls, misnamed_server_certificate(kiosk_tls, tmp_path)).start()
    try:
        world = kiosk_world(centre_url=wrong.url + CENTRE_BASE_PATH)
        wrong.target = origin(world.endpoints["center_url"])
        assert notice_after_card(world) == "centre_unreachable"
    finally:
        wrong.stop()
    assert wrong.exchanges == [], "the kiosk sent a request to a misnamed centre"
    assert centre_requests(world) == []


# -- PRIV-007: the JPKI PIN goes to the card only ----------------------------------------------
def _masked_verifies(world: World) -> list[dict[str, Any]]:
    assert world.evidence is not None
    verifies = (r for r in world.evidence.records("apdu") if r["event"] == "transmit")
    return [r for r in verifies if r["command"].startswith("00200080") and len(r["command"]) > 8]


@pytest.mark.requirement("PRIV-007")
@pytest.mark.parametrize("profile", ["mynumber-valid", "smartphone-android"])
def test_the_jpki_pin_never_reaches_the_centre(
    kiosk_world: KioskWorld, tap: CentreTap, profile: str
) -> None:
    world = tapped(kiosk_world, tap)
    card = world.issue_card(profile, world.resident())
    pin = card.pins["auth_pin"]
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    apply_and_pay(world)
    take_everything(world)
    assert len(_masked_verifies(world)) == 1, "the PIN went to the card, once"
    assert not any("/pin" in e.path for e in tap.exchanges), "no PIN call in the JPKI method"
    for exchange in tap.exchanges:
        text = exchange.body.decode("utf-8", "replace")
        assert pin not in text, f"the PIN's digits in {exchange.method} {exchange.path}"
        assert pin.encode().hex() not in text.lower()
        assert not any(pin in v for v in exchange.headers.values())
    assert tap.exchanges and "session" in tap.exchanges[0].path


@pytest.mark.requirement("PRIV-007")
def test_the_card_ap_pin_goes_to_the_centre_not_the_card(
    kiosk_world: KioskWorld, tap: CentreTap
) -> None:
    """The contrast case: in the card AP method the PIN is the municipality's, never VERIFY'd
    on the card, so the JPKI check above would notice a kiosk that mixed the two up."""
    world = tapped(kiosk_world, tap)
    card = world.issue_card("juki-card-ap", world.resident())
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record", pin=CARD_AP_PIN)
    world.customer.cancel()
    assert _masked_verifies(world) == []
    pins = tap.bodies("/pin")
    assert len(pins) == 1 and CARD_AP_PIN in json.dumps(pins[0])


# -- PRIV-008, CARD-005: what the kiosk never selects on the card -----------------------------
#: Applications the kiosk must never select (their data: My Number, the four attributes).
FORBIDDEN_APPS = {AID_INPUT_SUPPORT.hex(): "券面事項入力補助AP", AID_CARD_SURFACE.hex(): "券面AP"}
#: EFs of the JPKI AP it must never select: the signature side of the card.
FORBIDDEN_JPKI_EFS = {
    "0001": "EF 0001 signature certificate",
    "001a": "EF 001A signature key",
    "001b": "EF 001B signature password",
}


def forbidden_commands(world: World) -> list[str]:
    """Walk the reader-side APDU trace, following which application is selected (EF ids
    are per application: the card AP has an EF 0001 of its own)."""
    assert world.evidence is not None
    found: list[str] = []
    current = ""
    for record in world.evidence.records("apdu"):
        command = str(record.get("command", "")).lower()
        if not command.startswith("00a4") or len(command) < 10:
            continue
        p1, data = command[4:6], command[10:]
        if p1 == "04":
            current = data
            if data in FORBIDDEN_APPS:
                found.append(FORBIDDEN_APPS[data])
        elif p1 == "02" and current == AID_JPKI.hex() and data in FORBIDDEN_JPKI_EFS:
            found.append(FORBIDDEN_JPKI_EFS[data])
        elif p1 == "00":
            current = ""  # the MF
    return found


@pytest.mark.requirement("PRIV-008", "CARD-005")
@pytest.mark.kiosk_config()  # nothing reconfigured: any kiosk
@pytest.mark.parametrize(
    "profile", ["mynumber-valid", "mynumber-card-ap", "smartphone-android", "smartphone-iphone"]
)
def test_no_my_number_no_attributes_no_signature_key(kiosk_world: KioskWorld, profile: str) -> None:
    world = kiosk_world()
    card = world.issue_card(profile, world.resident())
    authenticate(world, card)
    choose_through_to_confirmation(world, "resident_record")
    world.customer.cancel()
    assert world.evidence is not None
    selects = [r for r in world.evidence.records("apdu") if str(r["command"]).startswith("00a4")]
    assert selects, "the trace holds the kiosk's SELECTs"
    assert forbidden_commands(world) == []


# -- JPKI-FLOW-008 … -011 on the wire: what the kiosk's application carries --------------------
@pytest.mark.requirement("JPKI-FLOW-008", "JPKI-FLOW-009", "JPKI-FLOW-010", "JPKI-FLOW-011")
def test_the_application_carries_exactly_the_choices_made(
    kiosk_world: KioskWorld, tap: CentreTap
) -> None:
    world = tapped(kiosk_world, tap)
    card = world.issue_card("mynumber-valid", world.resident(trait="household_of_3"))
    authenticate(world, card)
    c = world.customer
    c.tap("resident_record")
    c.tap("members")
    view = c.tap("next")
    members = [o.id for o in view.options if o.id.startswith("member:")]
    c.tap(members[0])
    c.tap(members[2])
    view = c.tap("next")
    assert view.screen is ScreenId.ITEMS
    chosen = {
        "include_honseki": True,
        "include_head_relationship": False,
        "include_my_number": True,
    }
    for item, wanted in chosen.items():
        option = view.option(item)
        assert option is not None
        if bool(option.selected) != wanted:
            view = c.tap(item)
    c.tap("next")
    c.type_number(2)
    view = c.tap("next")
    assert view.screen is ScreenId.CONFIRMATION
    assert tap.bodies("/requests") == [], "nothing applied before 申請する"
    apply_and_pay(world)
    take_everything(world)
    [request] = tap.bodies("/requests")
    assert request["type"] == "resident_record" and request["copies"] == 2
    options = request["options"]
    assert sorted(options["members"]) == sorted(m.removeprefix("member:") for m in members[::2])
    assert options["scope"] == "members"
    assert {k: options[k] for k in chosen} == chosen
