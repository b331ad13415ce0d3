"""スクランブル画像: the front's content box, scrambled under a secret key, for the back.

Scheme (version 1; the real J-LIS algorithm is not public, this one is ours):

1. Sample. The front's content area is averaged over square modules: for A5 content the
   1760×2480-px box over 2×2 px (880×1240 modules, 150 dpi); for a full A4 page the
   2112×3312-px area over 3×3 px (704×1104 modules, 100 dpi), so that it fits the back.
2. Cut into 8×8-module blocks: 110×155 = 17 050 blocks (A5) or 88×138 = 12 144 (A4).
3. Per-sheet nonce: the first 8 bytes of HMAC-SHA256(key, "konbini-rig scramble nonce v1" ‖
   document id). A verifier that knows the document id can check it; one that does not
   still decodes, because the nonce is printed.
4. Keystream: SHAKE-256 of HMAC-SHA256(key, "konbini-rig scramble perm v1" ‖ nonce), 9 bytes
   per block. The first 8 bytes of each block's share are a 64-bit sort key: sorting the
   keys gives the permutation (position j of the back holds block order[j]). The last byte
   chooses, for position j, an inversion (bit 0: v → 255 − v) and one of the 8 rotations /
   reflections of the square (bits 1–3). Only hashlib is used, so the mapping never
   changes with a library version. The A4 area uses its own label ("… perm v1 A4").
5. Header: nonce (8 bytes) ‖ tag (4 bytes, HMAC-SHA256(key, "konbini-rig scramble tag v1" ‖
   nonce), label "… tag v1 A4" for the A4 area) ‖ CRC-16/CCITT-FALSE of both, printed as
   112 black (1) / white (0) cells, most significant bit first. A bad CRC means a damaged
   or wrong side; a good CRC with a tag of neither area means the wrong key. Which tag
   matches tells the area, so A5 headers are the same as before the A4 area existed.
6. Print: each module as a 2×2-pixel square of its gray value on the back: A5 content
   exactly behind itself, the A4 area scaled to 2/3 and centred in the same place.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac

import numpy as np
from numpy.typing import NDArray

from rig.core.antiforgery import layout
from rig.core.antiforgery.errors import HeaderDamagedError, KeyFormatError, WrongKeyError
from rig.core.antiforgery.layout import AREA_A4, AREA_A5, ContentArea

NONCE_BYTES = 8
TAG_BYTES = 4
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 1024
_B = layout.BLOCK_MODULES
_TAG_LABELS = {"A5": b"konbini-rig scramble tag v1", "A4": b"konbini-rig scramble tag v1 A4"}
_PERM_LABELS = {"A5": b"konbini-rig scramble perm v1", "A4": b"konbini-rig scramble perm v1 A4"}


def check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray):
        raise KeyFormatError(f"scramble key must be bytes, got {type(key).__name__}")
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise KeyFormatError(
            f"scramble key must be {MIN_KEY_BYTES}–{MAX_KEY_BYTES} bytes, got {len(key)}"
        )


def _mac(key: bytes, label: bytes, data: bytes) -> bytes:
    return hmac.new(bytes(key), label + data, hashlib.sha256).digest()


def nonce_for(key: bytes, document_id: str) -> bytes:
    """The 8-byte nonce printed on the back of the sheet for `document_id`."""
    check_key(key)
    return _mac(key, b"konbini-rig scramble nonce v1", document_id.encode("utf-8"))[:NONCE_BYTES]


def _tag(key: bytes, nonce: bytes, area: ContentArea) -> bytes:
    return _mac(key, _TAG_LABELS[area.name], nonce)[:TAG_BYTES]


def header_bits(key: bytes, nonce: bytes, area: ContentArea = AREA_A5) -> NDArray[np.bool_]:
    """The 112 header cells (True = black) for `nonce` under `key`, for `area`."""
    tag = _tag(key, nonce, area)
    body = nonce + tag
    crc = binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")
    return np.unpackbits(np.frombuffer(body + crc, dtype=np.uint8)).astype(bool)


def parse_header_area(key: bytes, bits: NDArray[np.bool_]) -> tuple[bytes, ContentArea]:
    """The nonce and the content area from 112 read cells; HeaderDamagedError or
    WrongKeyError if they do not check."""
    raw = np.packbits(bits.astype(np.uint8)).tobytes()
    body, crc = raw[: NONCE_BYTES + TAG_BYTES], raw[NONCE_BYTES + TAG_BYTES :]
    if binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big") != crc:
        raise HeaderDamagedError("scramble header CRC mismatch (damaged sheet or not a back side)")
    nonce, tag = body[:NONCE_BYTES], body[NONCE_BYTES:]
    for area in (AREA_A5, AREA_A4):
        if hmac.compare_digest(_tag(key, nonce, area), tag):
            return nonce, area
    raise WrongKeyError("scramble header was made with another key")


def _keystream(
    key: bytes, nonce: bytes, area: ContentArea = AREA_A5
) -> tuple[NDArray[np.intp], NDArray[np.uint8]]:
    n = area.blocks_w * area.blocks_h
    seed = _mac(key, _PERM_LABELS[area.name], nonce)
    stream = hashlib.shake_256(seed).digest(9 * n)
    sort_keys = np.frombuffer(stream[: 8 * n], dtype="<u8")
    ops = np.frombuffer(stream[8 * n :], dtype=np.uint8)
    return np.argsort(sort_keys, kind="stable"), ops


def _to_blocks(modules: NDArray[np.float32], area: ContentArea) -> NDArray[np.float32]:
    if modules.shape != (area.modules_h, area.modules_w):
        raise ValueError(f"expected {area.modules_h}×{area.modules_w} modules, got {modules.shape}")
    grid = modules.reshape(area.blocks_h, _B, area.blocks_w, _B)
    return grid.transpose(0, 2, 1, 3).reshape(area.blocks_h * area.blocks_w, _B, _B)


def _from_blocks(blocks: NDArray[np.float32], area: ContentArea) -> NDArray[np.float32]:
    grid = blocks.reshape(area.blocks_h, area.blocks_w, _B, _B)
    return grid.transpose(0, 2, 1, 3).reshape(area.modules_h, area.modules_w)


def _dihedral(blocks: NDArray[np.float32], ops: NDArray[np.uint8], inverse: bool) -> None:
    """Rotate/reflect each block in place by its op (bits 1–3), or undo it."""
    kinds = (ops >> 1) & 7
    for kind in range(1, 8):
        sel = kinds == kind
        if not sel.any():
            continue
        turns, flip = kind & 3, bool(kind & 4)
        part = blocks[sel]
        if not inverse:
            if flip:
                part = part.transpose(0, 2, 1)
            part = np.rot90(part, turns, axes=(1, 2))
        else:
            part = np.rot90(part, -turns, axes=(1, 2))
            if flip:
                part = part.transpose(0, 2, 1)
        blocks[sel] = part


def scramble(
    modules: NDArray[np.float32], key: bytes, nonce: bytes, area: ContentArea = AREA_A5
) -> NDArray[np.float32]:
    """Scramble the area's modules_h×modules_w gray image (values 0–255)."""
    order, ops = _keystream(key, nonce, area)
    blocks = _to_blocks(modules, area)[order].copy()
    invert = (ops & 1).astype(bool)
    blocks[invert] = 255.0 - blocks[invert]
    _dihedral(blocks, ops, inverse=False)
    return _from_blocks(blocks, area)


def unscramble(
    printed: NDArray[np.float32], key: bytes, nonce: bytes, area: ContentArea = AREA_A5
) -> NDArray[np.float32]:
    """Inverse of `scramble`."""
    order, ops = _keystream(key, nonce, area)
    blocks = _to_blocks(printed, area).copy()
    _dihedral(blocks, ops, inverse=True)
    invert = (ops & 1).astype(bool)
    blocks[invert] = 255.0 - blocks[invert]
    out = np.empty_like(blocks)
    out[order] = blocks
    return _from_blocks(out, area)


def sample_front(front_page: NDArray[np.uint8], area: ContentArea = AREA_A5) -> NDArray[np.float32]:
    """The area's front box averaged over its modules (modules_h×modules_w, float 0–255).

    Bit for bit the float32 `mean` over each module that sheets were first printed with: a
    module's sum (at most 9 × 255) is exact in uint16 and in float32, and `mean` divides
    that exact float32 sum by the pixel count once, as here. Summing strided rows and then
    strided columns is more than ten times faster than `mean` over the two inner axes.
    """
    c, m = area.front, area.module_px
    box = front_page[c.y : c.y1, c.x : c.x1]
    rows = box[0::m].astype(np.uint16)
    for dy in range(1, m):
        rows += box[dy::m]
    sums = rows[:, 0::m].copy()
    for dx in range(1, m):
        sums += rows[:, dx::m]
    means = sums.astype(np.float32)
    means /= np.float32(m * m)
    return means
