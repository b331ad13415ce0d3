"""スクランブル画像: the front's content box, scrambled under a secret key, for the back.

Scheme (version 1; the real J-LIS algorithm is not public, this one is ours):

1. Sample. The front's content box (1760×2480 px) is averaged over 2×2-pixel modules:
   880×1240 modules, the front at 150 dpi.
2. Cut into 8×8-module blocks: 110×155 = 17 050 blocks.
3. Per-sheet nonce: the first 8 bytes of HMAC-SHA256(key, "konbini-rig scramble nonce v1" ‖
   document id). A verifier that knows the document id can check it; one that does not
   still decodes, because the nonce is printed.
4. Keystream: SHAKE-256 of HMAC-SHA256(key, "konbini-rig scramble perm v1" ‖ nonce), 9 bytes
   per block. The first 8 bytes of each block's share are a 64-bit sort key: sorting the
   keys gives the permutation (position j of the back holds block order[j]). The last byte
   chooses, for position j, an inversion (bit 0: v → 255 − v) and one of the 8 rotations /
   reflections of the square (bits 1–3). Only hashlib is used, so the mapping never
   changes with a library version.
5. Header: nonce (8 bytes) ‖ tag (4 bytes, HMAC-SHA256(key, "konbini-rig scramble tag v1" ‖
   nonce)) ‖ CRC-16/CCITT-FALSE of both, printed as 112 black (1) / white (0) cells, most
   significant bit first. A bad CRC means a damaged or wrong side; a good CRC with a bad
   tag means the wrong key.
6. Print: each module as a 2×2-pixel square of its gray value, in the content box of the
   back, so the back's scrambled image sits exactly behind the front's content.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac

import numpy as np
from numpy.typing import NDArray

from rig.antiforgery import layout
from rig.antiforgery.errors import HeaderDamagedError, KeyFormatError, WrongKeyError

NONCE_BYTES = 8
TAG_BYTES = 4
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 1024
_N_BLOCKS = layout.BLOCKS_W * layout.BLOCKS_H
_B = layout.BLOCK_MODULES


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


def header_bits(key: bytes, nonce: bytes) -> NDArray[np.bool_]:
    """The 112 header cells (True = black) for `nonce` under `key`."""
    tag = _mac(key, b"konbini-rig scramble tag v1", nonce)[:TAG_BYTES]
    body = nonce + tag
    crc = binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")
    return np.unpackbits(np.frombuffer(body + crc, dtype=np.uint8)).astype(bool)


def parse_header(key: bytes, bits: NDArray[np.bool_]) -> bytes:
    """The nonce from 112 read cells; HeaderDamagedError or WrongKeyError if they do not check."""
    raw = np.packbits(bits.astype(np.uint8)).tobytes()
    body, crc = raw[: NONCE_BYTES + TAG_BYTES], raw[NONCE_BYTES + TAG_BYTES :]
    if binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big") != crc:
        raise HeaderDamagedError("scramble header CRC mismatch (damaged sheet or not a back side)")
    nonce, tag = body[:NONCE_BYTES], body[NONCE_BYTES:]
    if not hmac.compare_digest(_mac(key, b"konbini-rig scramble tag v1", nonce)[:TAG_BYTES], tag):
        raise WrongKeyError("scramble header was made with another key")
    return nonce


def _keystream(key: bytes, nonce: bytes) -> tuple[NDArray[np.intp], NDArray[np.uint8]]:
    seed = _mac(key, b"konbini-rig scramble perm v1", nonce)
    stream = hashlib.shake_256(seed).digest(9 * _N_BLOCKS)
    sort_keys = np.frombuffer(stream[: 8 * _N_BLOCKS], dtype="<u8")
    ops = np.frombuffer(stream[8 * _N_BLOCKS :], dtype=np.uint8)
    return np.argsort(sort_keys, kind="stable"), ops


def _to_blocks(modules: NDArray[np.float32]) -> NDArray[np.float32]:
    grid = modules.reshape(layout.BLOCKS_H, _B, layout.BLOCKS_W, _B)
    return grid.transpose(0, 2, 1, 3).reshape(_N_BLOCKS, _B, _B)


def _from_blocks(blocks: NDArray[np.float32]) -> NDArray[np.float32]:
    grid = blocks.reshape(layout.BLOCKS_H, layout.BLOCKS_W, _B, _B)
    return grid.transpose(0, 2, 1, 3).reshape(layout.MODULES_H, layout.MODULES_W)


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


def scramble(modules: NDArray[np.float32], key: bytes, nonce: bytes) -> NDArray[np.float32]:
    """Scramble a MODULES_H×MODULES_W gray image (values 0–255)."""
    order, ops = _keystream(key, nonce)
    blocks = _to_blocks(modules)[order].copy()
    invert = (ops & 1).astype(bool)
    blocks[invert] = 255.0 - blocks[invert]
    _dihedral(blocks, ops, inverse=False)
    return _from_blocks(blocks)


def unscramble(printed: NDArray[np.float32], key: bytes, nonce: bytes) -> NDArray[np.float32]:
    """Inverse of `scramble`."""
    order, ops = _keystream(key, nonce)
    blocks = _to_blocks(printed).copy()
    _dihedral(blocks, ops, inverse=True)
    invert = (ops & 1).astype(bool)
    blocks[invert] = 255.0 - blocks[invert]
    out = np.empty_like(blocks)
    out[order] = blocks
    return _from_blocks(out)


def sample_front(front_page: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The content box averaged over 2×2 modules (MODULES_H×MODULES_W, float 0–255)."""
    c = layout.CONTENT
    box = front_page[c.y : c.y1, c.x : c.x1].astype(np.float32)
    m = layout.MODULE_PX
    grid = box.reshape(layout.MODULES_H, m, layout.MODULES_W, m)
    return np.asarray(grid.mean(axis=(1, 3)), dtype=np.float32)
