"""Issuance centre benchmark: sustained issuances per second and transaction latency.

A municipal server, the JPKI OCSP responder and the centre run on loopback in this process
(real TLS, real OCSP); `KIOSKS` kiosk threads each run whole transactions back to back for
`ISSUANCES` issuances in all: open session → JPKI authentication (signature + OCSP check) →
request (the municipality renders the PDF, the centre's processing stage lays it out) →
download → payment → completion → end of session.

- center_issuances_per_s: completed issuances per second, sustained over the run;
- center_latency_p50_ms / center_latency_p99_ms: one whole transaction, as a kiosk sees it;
- centre_layout_ms_per_document: the centre's layout stage alone (A4 layout, centre stamp,
  the resident line read), median over the municipality's own PDFs of the run, timed after it.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from emulators.centre import IssuanceCentre
from emulators.centre.processing import ProcessedDocument, StageContext, layout_stage
from emulators.jpki import OcspResponder, OcspServer, ResponderIdentity
from emulators.municipal import MunicipalServer
from rig.core.clock import JST, RigClock
from rig.core.drivers.centre_client import CentreClient
from rig.core.pki.jpki import JpkiAuthority
from rig.core.pki.mint import AuthCertMint
from rig.core.pki.tls import TlsMaterial
from rig.harness.bench import Figure

KIOSKS = 8
LAYOUT_SAMPLES = 32
ISSUANCES = 160
CITY = "991015"


def measure() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="rig-bench-centre-") as tmp:
        folder = Path(tmp)
        clock = RigClock()
        tls = TlsMaterial(folder / "tls", seed="bench")
        authority = JpkiAuthority.load_or_create(folder / "pki", seed="bench")
        municipal = MunicipalServer(clock, None, folder / "municipal", None, tls)
        municipal_urls = municipal.start()
        responder = OcspResponder(
            clock,
            ResponderIdentity(authority.auth_ca_cert, authority.ocsp_cert, authority.ocsp_key),
            status_of=lambda serial, at: authority.status(serial, at),
            revocation_of=authority.revocations.revocation,
        )
        ocsp = OcspServer(responder)
        ocsp.start()
        served: list[bytes] = []

        def keeping(pdf: bytes, ctx: StageContext) -> ProcessedDocument:
            if len(served) < LAYOUT_SAMPLES:
                served.append(pdf)
            return layout_stage(pdf, ctx)

        centre = IssuanceCentre(
            clock, None, folder / "centre", tls, municipal_urls, ocsp.url,
            authority.auth_ca_cert, ocsp_timeout=60, municipal_timeout=60, marks=keeping,
        )  # fmt: skip
        url = centre.start()["center_url"]
        mint = AuthCertMint(authority, first_serial=0xBE_0000_0000, label="BENCH")
        residents = municipal.registry.find_residents(CITY, "eligible")[: KIOSKS * 4]
        certs = []
        for rid in residents:
            cert = mint.mint()
            municipal.registry.register_jpki_user(cert.serial_number, rid)
            centre.register_jpki_holder(cert.serial_number, CITY)
            certs.append(cert)
        work = itertools.count()
        latencies: list[float] = []
        lock = threading.Lock()

        def kiosk(index: int) -> None:
            kiosk_id = f"kiosk-{index:04d}"
            with CentreClient(
                url, client=tls.kiosk_client(kiosk_id), server_ca=tls.server_ca, timeout=60
            ) as client:
                while (n := next(work)) < ISSUANCES:
                    cert = certs[n % len(certs)]
                    started = time.perf_counter()
                    session = client.open_session(kiosk_id, "store-1", "bench")
                    assert session.nonce is not None
                    signature = mint.sign(session.nonce)
                    sid = session.session_id
                    client.authenticate_jpki(sid, cert, signature, session.nonce)
                    receipt = client.request_certificate(sid, "resident_record")
                    client.download(sid, receipt.request_id)
                    client.confirm_payment(sid, receipt.request_id, receipt.total_fee)
                    client.complete(sid, receipt.request_id, "printed", 1)
                    client.end_session(sid)
                    with lock:
                        latencies.append(time.perf_counter() - started)

        threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(KIOSKS)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        counted = centre.records.count()
        centre.stop()
        ocsp.stop()
        municipal.stop()
    if counted != ISSUANCES or len(latencies) != ISSUANCES:
        raise RuntimeError(f"only {counted} of {ISSUANCES} issuances completed")
    cuts = statistics.quantiles(latencies, n=100)
    context = StageContext(
        "991015-20261124-000001", "bench", CITY, datetime(2026, 11, 24, tzinfo=JST)
    )
    layout_times = []
    for pdf in served:
        began_layout = time.perf_counter()
        layout_stage(pdf, context)
        layout_times.append(time.perf_counter() - began_layout)
    return [
        Figure("center_issuances_per_s", ISSUANCES / elapsed, "issuances/s"),
        Figure("center_latency_p50_ms", statistics.median(latencies) * 1000, "ms"),
        Figure("center_latency_p99_ms", cuts[98] * 1000, "ms"),
        Figure("centre_layout_ms_per_document", statistics.median(layout_times) * 1000, "ms"),
    ]
