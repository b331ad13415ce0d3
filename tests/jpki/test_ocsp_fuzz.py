"""Fuzzing the OCSP responder: any bytes in, a well-formed OCSPResponse out, never a crash."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from cryptography.x509 import ocsp
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.jpki import OcspResponder, ResponderIdentity
from rig.core.clock import JST, RigClock
from rig.core.pki.jpki import Holder, JpkiAuthority
from rig.core.protocols.ocsp import build_request, new_nonce
from rig.harness import fuzz


@pytest.fixture(scope="module")
def responder_and_request(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[OcspResponder, bytes]:
    authority = JpkiAuthority.load_or_create(tmp_path_factory.mktemp("pki"), seed="ocsp-fuzz")
    cred = authority.issue_user(
        Holder("fuzz-1", "試験 花子", "大阪府大阪市1-1", date(1990, 1, 1)),
        datetime(2024, 4, 1, tzinfo=JST),
    )
    responder = OcspResponder(
        RigClock(),
        ResponderIdentity(authority.auth_ca_cert, authority.ocsp_cert, authority.ocsp_key),
        status_of=authority.status,
        revocation_of=authority.revocations.revocation,
    )
    return responder, build_request(cred.auth_cert, cred.auth_ca_cert, new_nonce())


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for pos, value in flips:
        buf[pos % len(buf)] = value
    return bytes(buf[:cut] if cut is not None else buf)


@pytest.mark.fuzz
def test_random_and_mutated_requests_always_get_a_parseable_answer(
    responder_and_request: tuple[OcspResponder, bytes],
) -> None:
    responder, valid = responder_and_request
    answered = {"ok": 0, "malformed": 0}

    @settings(max_examples=fuzz.examples(400))
    @given(
        st.one_of(
            st.binary(max_size=300),
            st.tuples(
                st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
                st.one_of(st.none(), st.integers(0, len(valid))),
            ).map(lambda m: _mutate(valid, m[0], m[1])),
        )
    )
    def one(request: bytes) -> None:
        response = ocsp.load_der_ocsp_response(responder.respond(request))
        if response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL:
            answered["ok"] += 1
        else:
            assert response.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            answered["malformed"] += 1

    one()
    assert answered["malformed"] > 0  # the fuzzer did reach the refusal path
    # and the responder still answers properly afterwards
    after = ocsp.load_der_ocsp_response(responder.respond(valid))
    assert after.certificate_status is ocsp.OCSPCertStatus.GOOD
