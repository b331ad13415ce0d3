"""`rig serve`: the emulated world comes up for an external kiosk, answers, and goes away."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from smartcard.scard import (
    SCARD_S_SUCCESS,
    SCARD_SCOPE_USER,
    SCARD_STATE_PRESENT,
    SCARD_STATE_UNAWARE,
    SCardEstablishContext,
    SCardGetStatusChange,
    SCardReleaseContext,
)

from rig.core.drivers.ipp_client import IppClient


def test_serve_brings_up_every_party_and_stops_cleanly(tmp_path: Path) -> None:
    endpoints_file = tmp_path / "endpoints.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig.harness.cli", "serve", "--work-dir", str(tmp_path / "w"),
         "--endpoints", str(endpoints_file), "--card", "mynumber-valid",
         "--start", "2026-11-24T10:00:00+09:00"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not endpoints_file.exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "rig serve wrote no endpoints in 120 s"
            time.sleep(0.2)
        time.sleep(0.2)
        ep = json.loads(endpoints_file.read_text(encoding="utf-8"))
        for key in ("center_url", "ocsp_url", "ipp_uri", "bill_validator_port", "coin_port",
                    "ca_bundle", "kiosk_client_cert", "kiosk_client_key", "verify_url"):  # fmt: skip
            assert ep.get(key), key
        assert set(ep["municipal_urls"]) == {"991015", "992046", "993026", "993034", "993069"}
        # the centre refuses a client without a certificate, accepts the kiosk's
        no_cert = subprocess.run(
            ["curl", "-sS", "--cacert", ep["ca_bundle"], ep["center_url"] + "/health"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert no_cert.returncode != 0
        tls = ssl.create_default_context(cafile=ep["ca_bundle"])
        tls.load_cert_chain(ep["kiosk_client_cert"], ep["kiosk_client_key"])
        with httpx.Client(verify=tls) as client:
            r = client.post(
                ep["center_url"] + "/sessions",
                json={"kiosk_id": "kiosk-0001", "store_id": "s-1", "operator_id": "op-1"},
            )
        assert r.status_code in (200, 201), r.text
        # the printer answers IPP, the cash unit's serial ports exist, the site serves its page
        state, _ = IppClient(ep["ipp_uri"]).printer_state()
        assert state.name in ("IDLE", "PROCESSING")
        assert Path(ep["bill_validator_port"]).exists() and Path(ep["coin_port"]).exists()
        assert httpx.get(ep["verify_url"], timeout=10).status_code == 200
        # the card is in its reader, as PC/SC sees it
        [card] = ep["cards"]
        assert card["pins"]["auth_pin"]
        _, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
        rv, states = SCardGetStatusChange(ctx, 0, [(card["reader_name"], SCARD_STATE_UNAWARE)])
        SCardReleaseContext(ctx)
        assert rv == SCARD_S_SUCCESS and states[0][1] & SCARD_STATE_PRESENT
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "rig serve: stopping" in out
    assert os.environ.get("PCSCLITE_CSOCK_NAME") is None  # the machine's pcscd, nothing private


def test_serve_with_an_external_kiosk_uses_the_kiosk_kit(tmp_path: Path) -> None:
    """A kiosk configured from the kit for `rig run` finds the same addresses and trust
    anchor under `rig serve`: a live session needs no reconfiguration."""
    import yaml

    from rig.harness.config import load_topology
    from rig.harness.kiosk_kit import kit_tls

    from .rig_process import free_ports, rig_party

    centre, ipp, robot = free_ports(3)
    topology = tmp_path / "topology.yaml"
    topology.write_text(
        yaml.safe_dump(
            {
                "name": "kit-serve",
                "kiosk": {
                    "mode": "external", "robot_url": f"http://127.0.0.1:{robot}/robot",
                    "kit": "kit", "centre_port": centre, "ipp_port": ipp,
                },
            }
        ),
        encoding="utf-8",
    )  # fmt: skip
    endpoints_file = tmp_path / "endpoints.json"
    with rig_party(
        "serve", "--topology", str(topology), "--work-dir", str(tmp_path / "w"),
        "--endpoints", str(endpoints_file), log=tmp_path / "serve.log",
    ):  # fmt: skip
        ep = json.loads(endpoints_file.read_text(encoding="utf-8"))
        assert ep["center_url"] == f"https://127.0.0.1:{centre}/v1"
        assert ep["ipp_uri"] == f"ipp://127.0.0.1:{ipp}/ipp/print"
        kit = kit_tls(load_topology(topology))
        assert Path(ep["ca_bundle"]) == Path(kit.server_ca).resolve()
        assert ep["bill_validator_port"].startswith("/dev/pts/")
        assert Path(tmp_path / "kit" / "cash" / "bill_validator_port.tty").resolve() == Path(
            ep["bill_validator_port"]
        )
        tls = ssl.create_default_context(cafile=ep["ca_bundle"])
        tls.load_cert_chain(ep["kiosk_client_cert"], ep["kiosk_client_key"])
        with httpx.Client(verify=tls) as client:
            assert client.get(ep["center_url"] + "/health").status_code == 200
