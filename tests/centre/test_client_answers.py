"""A centre whose success answers cannot be read: the client raises `CentreAnswerError`
(`unreadable_answer`) naming the call, never a KeyError or a pydantic error, and the reference
kiosk ends the transaction as with a centre that does not answer.

The "centre" here is a real HTTPS server (the rig's transport core, TLS with client
certificates) that answers 200 with what a broken centre could send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.kiosk.centre import CentreLink
from emulators.kiosk.centre_types import CentreUnreachable
from emulators.kiosk.config import KioskConfig
from rig.core.drivers.centre_client import CentreAnswerError, CentreClient
from rig.core.https import JsonHttpsServer, Request, Response
from rig.core.pki.tls import TlsMaterial, generate_tls_material

#: What the broken centre answers, by the path's last part.
BROKEN: dict[str, Response] = {
    "sessions": Response(status=201, body=b"<html>not json</html>", content_type="text/html"),
    "nonce": Response(status=200, json={"nonse": "00"}),
    "jpki": Response(status=200, json=["a", "list"]),
    "challenge": Response(status=200, json={"challenge": "not hex"}),
    "pin": Response(status=200, json={"state": "authenticated"}),  # pin_required missing
    "requests": Response(status=201, json={"request_id": "r1"}),  # a receipt lacks the rest
    "settlement": Response(status=200, json={"rows": 7}),
    "statistics": Response(status=200, json={"rows": [], "totals": {}}),  # no subject
}


def _broken(request: Request) -> Response:
    return BROKEN[request.path.rstrip("/").rsplit("/", 1)[-1]]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return generate_tls_material(tmp_path_factory.mktemp("tls"), seed="broken-centre")


@pytest.fixture(scope="module")
def centre_url(tls: TlsMaterial) -> Iterator[str]:
    server = JsonHttpsServer(
        certificate=tls.server(), client_cas=[tls.kiosk_ca], name="broken-centre"
    )
    for method, path in [
        ("POST", "/v1/sessions"),
        ("POST", "/v1/sessions/{sid}/nonce"),
        ("POST", "/v1/sessions/{sid}/auth/jpki"),
        ("POST", "/v1/sessions/{sid}/auth/card-ap/challenge"),
        ("POST", "/v1/sessions/{sid}/pin"),
        ("POST", "/v1/sessions/{sid}/requests"),
        ("GET", "/v1/settlement"),
        ("GET", "/v1/operators/{op}/statistics"),
    ]:
        server.add_route(method, path, _broken)
    server.start()
    yield f"{server.url}/v1"
    server.stop()


CALLS: dict[str, Callable[[CentreClient], Any]] = {
    "not JSON": lambda c: c.open_session("k", "s", "o"),
    "a member missing": lambda c: c.new_nonce("s1"),
    "not an object": lambda c: c.authenticate_jpki("s1", b"\x30\x00", b"sig", bytes(32)),
    "not hex": lambda c: c.card_ap_challenge("s1", "991015", "u1"),
    "short of the model": lambda c: c.verify_pin("s1", "1234"),
    "a receipt short of the model": lambda c: c.request_certificate("s1", "resident_record"),
    "rows not a list": lambda c: c.settlement(),
    "no subject": lambda c: c.operator_statistics("op1"),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=list(CALLS))
def test_an_unreadable_success_answer_is_a_centre_answer_error(
    call: Callable[[CentreClient], Any], centre_url: str, tls: TlsMaterial
) -> None:
    client = CentreClient(centre_url, client=tls.kiosk_client(), server_ca=tls.server_ca)
    with client, pytest.raises(CentreAnswerError) as caught:
        call(client)
    assert caught.value.code == "unreadable_answer"
    assert "unreadable answer" in str(caught.value) and "/v1/" in str(caught.value)
    assert "1234" not in str(caught.value)  # the PIN sent never shows in the error


def test_the_kiosk_treats_an_unreadable_centre_as_one_not_answering(
    centre_url: str, tls: TlsMaterial, tmp_path: Path
) -> None:
    config = KioskConfig(
        reader_name="none",
        bill_validator_port="none",
        coin_port="none",
        ipp_uri="ipp://127.0.0.1:1/none",
        centre_url=centre_url,
        client_certificate=tls.kiosk_client(),
        server_ca=tls.server_ca,
    )
    link = CentreLink(config, timeout=5)
    try:
        with pytest.raises(CentreUnreachable, match="unreadable_answer"):
            link.open_session()
    finally:
        link.close()
