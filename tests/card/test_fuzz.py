"""Fuzz the virtual card: random and mutated APDUs per application, 0 crashes, card still works.

Scale: RIG_FUZZ_SCALE=1 (make test) sends 5,000 APDUs per application through execute() plus
200 through pcscd; `make fuzz` (scale 20) sends 100,000 and 4,000.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.card import BuiltCard, VirtualCard, build_card
from rig.core.pcsc import VirtualCardSlot
from rig.core.pki.jpki import JpkiAuthority
from rig.core.protocols import card_ap
from rig.core.protocols.apdu import (
    AID_CARD_AP,
    AID_INPUT_SUPPORT,
    AID_JPKI,
    EF_AUTH_CERT,
    EF_AUTH_KEY,
    EF_AUTH_PIN,
    EF_IS_MY_NUMBER,
    EF_IS_PIN,
    SW,
    CommandAPDU,
    ResponseAPDU,
    compute_signature,
    read_binary,
    select_aid,
    select_ef,
    verify,
    verify_status,
)
from tests.card.conftest import CARD_TEST_SEED
from tests.card.host import HostConnection
from tests.card.test_jpki_ap import digest_info, read_file, send

SCALE = int(os.environ.get("RIG_FUZZ_SCALE", "1"))
APDUS_PER_EXAMPLE = 25
DIRECT_APDUS = 5_000 * SCALE
STACK_APDUS = 200 * SCALE

KNOWN_SW = {int(sw) for sw in SW} | {0x6884} | {0x63C0 | n for n in range(16)}
KNOWN_SW |= {0x6C00 | n for n in range(256)}

CORPUS: dict[str, list[bytes]] = {
    "jpki": [
        select_aid(AID_JPKI),
        select_ef(EF_AUTH_CERT),
        select_ef(EF_AUTH_PIN),
        select_ef(EF_AUTH_KEY),
        select_ef(0x001B),
        select_ef(0x0001),
        select_ef(0x0006),
        read_binary(0, 4),
        read_binary(0x0100, 0xFF),
        read_binary(0x03F0, 0x40),
        verify_status(),
        verify("1234"),
        verify("0000"),
        compute_signature(digest_info(b"fuzz")),
    ],
    "input_support": [
        select_aid(AID_INPUT_SUPPORT),
        select_ef(EF_IS_PIN),
        select_ef(EF_IS_MY_NUMBER),
        select_ef(0x0002),
        verify_status(),
        verify("1234"),
        read_binary(0, 17),
        read_binary(0, 0xFF),
    ],
    "card_ap": [
        select_aid(AID_CARD_AP),
        select_ef(card_ap.EF_CARD_AP_INFO),
        read_binary(0, 0x40),
        card_ap.internal_authenticate(bytes(16)),
        bytes.fromhex("0088000110") + bytes(16),
    ],
}
AIDS = {"jpki": AID_JPKI, "input_support": AID_INPUT_SUPPORT, "card_ap": AID_CARD_AP}
PROFILE = {
    "jpki": "mynumber-valid",
    "input_support": "mynumber-valid",
    "card_ap": "mynumber-card-ap",
}


@st.composite
def mutated(draw: st.DrawFn, app: str) -> bytes:
    raw = bytearray(draw(st.sampled_from(CORPUS[app])))
    for _ in range(draw(st.integers(0, 3))):  # 0: a valid command, to reach deeper states
        op = draw(st.sampled_from(["flip", "truncate", "extend", "lc", "header"]))
        if op == "flip" and raw:
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del raw[draw(st.integers(0, len(raw))) :]
        elif op == "extend":
            raw += draw(st.binary(min_size=1, max_size=8))
        elif op == "lc" and len(raw) > 4:
            raw[4] = draw(st.sampled_from([0x00, 0x01, 0xFF, len(raw) - 4, len(raw) - 6 & 0xFF]))
        elif op == "header" and len(raw) >= 4:
            raw[draw(st.integers(0, 3))] = draw(st.integers(0, 255))
    return bytes(raw)


def structured() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda cla, ins, p1, p2, data, le, ext: CommandAPDU(
            cla, ins, p1, p2, data, le, ext
        ).to_bytes(),
        st.sampled_from([0x00, 0x00, 0x00, 0x80, 0x0C, 0x01, 0x10, 0xFF]) | st.integers(0, 255),
        st.sampled_from([0xA4, 0xB0, 0x20, 0x2A, 0x88, 0x24, 0x84, 0xC0]) | st.integers(0, 255),
        st.sampled_from([0x00, 0x02, 0x04, 0x80]) | st.integers(0, 255),
        st.sampled_from([0x00, 0x0C, 0x80, 0x01]) | st.integers(0, 255),
        st.binary(max_size=40),
        st.none() | st.integers(1, 300),
        st.booleans(),
    )


def apdus(app: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=48), mutated(app), mutated(app), mutated(app), structured())


def stack_apdus(app: str) -> st.SearchStrategy[bytes]:
    """What may cross PC/SC: vpcd's wire reads a 1-byte payload as a control code (power,
    reset, ATR), so commands shorter than a header stay in the direct fuzz above."""
    return apdus(app).filter(lambda raw: 4 <= len(raw) <= 261)


def check_answer(card: VirtualCard, raw: bytes, answer: bytes) -> None:
    assert len(answer) >= 2, raw.hex()
    assert int.from_bytes(answer[-2:], "big") in KNOWN_SW, (raw.hex(), answer.hex())
    assert card.internal_errors == 0, raw.hex()


def assert_still_works(app: str, built: BuiltCard, tx: Callable[[bytes], ResponseAPDU]) -> None:
    """After the storm, the application answers a normal kiosk session correctly."""
    assert tx(select_aid(AIDS[app])).sw == SW.OK
    if app == "jpki":
        creds = built.credentials
        assert creds is not None
        assert tx(select_ef(EF_AUTH_CERT)).sw == SW.OK
        head = tx(read_binary(0, 4))
        assert head.data == creds.auth_cert.public_bytes(serialization.Encoding.DER)[:4]
        tx(select_ef(EF_AUTH_PIN))
        pin = built.card.application("jpki").pins[EF_AUTH_PIN]
        assert tx(verify_status()).sw == 0x63C0 | pin.tries_left
        if pin.tries_left:
            assert tx(verify("1234")).sw == SW.OK
            tx(select_ef(EF_AUTH_KEY))
            sig = tx(compute_signature(digest_info(b"after")))
            pub = creds.auth_cert.public_key()
            assert isinstance(pub, rsa.RSAPublicKey)
            pub.verify(sig.data, b"after", padding.PKCS1v15(), hashes.SHA256())
    elif app == "input_support":
        tx(select_ef(EF_IS_PIN))
        pin = built.card.application("input_support").pins[EF_IS_PIN]
        assert tx(verify_status()).sw == 0x63C0 | pin.tries_left
        if pin.tries_left:
            assert tx(verify("1234")).sw == SW.OK
            tx(select_ef(EF_IS_MY_NUMBER))
            assert tx(read_binary(0, 17)).data[3:15] == b"123456789018"
    else:
        info = built.card_ap_info
        assert info is not None
        challenge = os.urandom(16)
        r = tx(card_ap.internal_authenticate(challenge))
        master = card_ap.world_master_key(CARD_TEST_SEED, info.municipality_code)
        assert card_ap.verify_card_response(master, info, challenge, r.data)


@pytest.mark.fuzz
@pytest.mark.parametrize("app", ["jpki", "input_support", "card_ap"])
def test_fuzz_execute(app: str, jpki_authority: JpkiAuthority) -> None:
    built = build_card(PROFILE[app], jpki_authority, seed=CARD_TEST_SEED)
    card = built.card
    card.powerUp()
    sent = [0]

    @settings(
        max_examples=DIRECT_APDUS // APDUS_PER_EXAMPLE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(apdus(app), min_size=APDUS_PER_EXAMPLE, max_size=APDUS_PER_EXAMPLE))
    def storm(batch: list[bytes]) -> None:
        card.execute(select_aid(AIDS[app]))
        for raw in batch:
            check_answer(card, raw, card.execute(raw))
            sent[0] += 1

    storm()
    assert sent[0] >= DIRECT_APDUS
    card.reset()
    assert_still_works(app, built, lambda raw: send(card, raw))
    # and a full read of the certificate is still byte-exact
    if app == "jpki":
        send(card, select_aid(AID_JPKI))
        assert built.credentials is not None
        expected = built.credentials.auth_cert.public_bytes(serialization.Encoding.DER)
        assert read_file(card, EF_AUTH_CERT) == expected


@pytest.mark.fuzz
@pytest.mark.parametrize("app", ["jpki", "input_support", "card_ap"])
def test_fuzz_through_pcscd(
    app: str, card_slot: VirtualCardSlot, jpki_authority: JpkiAuthority
) -> None:
    built = build_card(PROFILE[app], jpki_authority, seed=CARD_TEST_SEED)
    card = built.card
    card_slot.insert(card)
    sent = [0]
    with HostConnection(card_slot.reader_name) as host:

        @settings(
            max_examples=STACK_APDUS // APDUS_PER_EXAMPLE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(stack_apdus(app), min_size=APDUS_PER_EXAMPLE, max_size=APDUS_PER_EXAMPLE))
        def storm(batch: list[bytes]) -> None:
            host.transmit(select_aid(AIDS[app]))
            for raw in batch:
                r = host.transmit(raw)
                assert r.sw in KNOWN_SW, (raw.hex(), hex(r.sw))
                assert card.internal_errors == 0
                sent[0] += 1

        storm()
        assert sent[0] >= STACK_APDUS
        host.reset()
        assert_still_works(app, built, host.transmit)
