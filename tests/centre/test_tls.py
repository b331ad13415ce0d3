"""Transport security of the kiosk API: client certificates, CAs, TLS versions (real curl).

A client the TLS layer cannot trust never reaches the API, so its error is the TLS alert
itself (certificate required, certificate expired, unknown CA, protocol version); a client
TLS trusts but the route does not serve gets a 403 problem document.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rig.core.drivers.centre_client import CentreApiError, CentreClient
from rig.core.pki.tls import CertPair, TlsMaterial

from .conftest import CentreWorld

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl not installed (scripts/setup.sh)")


def curl(
    w: CentreWorld, path: str, pair: CertPair | None, *extra: str
) -> subprocess.CompletedProcess[str]:
    assert CURL is not None
    args = [CURL, "-sS", "-v", "--max-time", "20", "--cacert", str(w.tls.server_ca), *extra]
    if pair is not None:
        args += ["--cert", str(pair.cert), "--key", str(pair.key)]
    return subprocess.run([*args, w.url + path], capture_output=True, text=True, timeout=30)


def test_curl_without_a_client_certificate_is_refused(shared: CentreWorld) -> None:
    done = curl(shared, "/health", None)
    assert done.returncode != 0
    assert done.stdout == ""  # no HTTP answer at all
    assert "< HTTP/" not in done.stderr
    # TLS 1.3 sends the alert after the client's Finished, so curl may see a reset instead;
    # under TLS 1.2 the alert always arrives inside the handshake
    done12 = curl(shared, "/health", None, "--tls-max", "1.2")
    assert done12.returncode != 0 and done12.stdout == ""
    assert "handshake failure" in done12.stderr


def test_curl_with_the_kiosk_certificate_is_served(shared: CentreWorld) -> None:
    done = curl(shared, "/health", shared.tls.kiosk_client())
    assert done.returncode == 0, done.stderr
    assert '"status": "ok"' in done.stdout


@pytest.mark.parametrize(
    ("which", "alert"),
    [("expired", "certificate expired"), ("self_signed", "unknown ca")],
)
def test_untrusted_client_certificates_get_specific_tls_alerts(
    shared: CentreWorld, which: str, alert: str
) -> None:
    pair = (
        shared.tls.expired_client("kiosk")
        if which == "expired"
        else shared.tls.self_signed_client()
    )
    done = curl(shared, "/health", pair, "--tls-max", "1.2")
    assert done.returncode != 0 and done.stdout == ""
    assert f"alert {alert}" in done.stderr.replace("alert, ", "alert ")


def test_kiosk_certificate_from_another_kiosk_ca(shared: CentreWorld, tmp_path: Path) -> None:
    """A kiosk CA of another world (the wrong CA, same names): unknown ca."""
    foreign = TlsMaterial(tmp_path / "foreign", seed="another-world").kiosk_client()
    done = curl(shared, "/health", foreign, "--tls-max", "1.2")
    assert done.returncode != 0 and done.stdout == ""
    assert "alert unknown ca" in done.stderr.replace("alert, ", "alert ")


def test_tls_1_1_is_refused(shared: CentreWorld) -> None:
    done = curl(shared, "/health", shared.tls.kiosk_client(), "--tls-max", "1.1")
    assert done.returncode != 0 and done.stdout == ""


def test_lgpki_certificate_is_not_a_kiosk(shared: CentreWorld) -> None:
    done = curl(
        shared,
        "/sessions",
        shared.tls.lgpki_client(),
        "-X",
        "POST",
        "--json",
        '{"kiosk_id": "issuance-centre", "store_id": "s1", "operator_id": "x"}',
    )
    assert done.returncode == 0
    assert '"code": "client_not_allowed"' in done.stdout
    assert "< HTTP/1.1 403" in done.stderr
    assert "content-type: application/problem+json" in done.stderr.lower()


def test_settlement_is_for_lgpki_clients_only(shared: CentreWorld) -> None:
    w = shared
    with CentreClient(w.url, client=w.tls.lgpki_client(), server_ca=w.tls.server_ca) as lg:
        assert isinstance(lg.settlement("2026-11"), list)
        with pytest.raises(CentreApiError) as exc:
            lg.settlement("2026-13")
        assert exc.value.code == "invalid_request"
    with pytest.raises(CentreApiError) as exc:
        w.kiosk().settlement("2026-11")
    assert (exc.value.status, exc.value.code) == (403, "client_not_allowed")


def test_kiosk_id_must_match_the_certificate(shared: CentreWorld) -> None:
    kiosk = shared.kiosk("kiosk-0001")
    with pytest.raises(CentreApiError) as exc:
        kiosk.open_session("kiosk-0002", "store-001", "konbini-a")
    assert (exc.value.status, exc.value.code) == (403, "kiosk_certificate_mismatch")


def test_another_kiosks_session_is_unknown(shared: CentreWorld) -> None:
    mine = shared.open(shared.kiosk("kiosk-0001"))
    other = shared.kiosk("kiosk-0009")
    with pytest.raises(CentreApiError) as exc:
        other.session(mine.session_id)
    assert (exc.value.status, exc.value.code) == (404, "session_unknown")
    with pytest.raises(CentreApiError) as exc:
        other.end_session(mine.session_id)
    assert exc.value.code == "session_unknown"
