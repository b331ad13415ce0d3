"""Deterministic RSA keys from a seed, cached in the run's working folder.

`cryptography` draws key material from the OS, so the same seed would give different keys on
every run. The rig derives the primes itself from a SHA-256 counter stream over (seed, label),
which makes a test PKI reproducible; the PEM cache only saves the prime search (about 0.3 s a
key in pure Python) on the next run. These are test keys: never use them for anything real.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

PUBLIC_EXPONENT = 65537
_SMALL_PRIMES: tuple[int, ...] = tuple(
    p for p in range(3, 4000, 2) if all(p % q for q in range(3, math.isqrt(p) + 1, 2))
)
#: keys already loaded in this process, by file and size, with the file's stat when it was
#: read (a file rewritten since, e.g. torn and repaired, is read again). A derived key never
#: changes (it is a function of seed and label) and key objects are immutable, so every world
#: of a worker session can share them; loading a PEM costs tens of ms (cryptography checks
#: the key).
_LOADED: dict[tuple[Path, int], tuple[tuple[int, int, int], rsa.RSAPrivateKey]] = {}


def key_pem(key: PrivateKeyTypes) -> bytes:
    """`key` as unencrypted PKCS#8 PEM (test keys only)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write-then-rename: a parallel worker never reads a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    if mode is not None:
        tmp.chmod(mode)
    tmp.replace(path)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class _Stream:
    """SHA-256 in counter mode over (seed, label): a reproducible bit source."""

    def __init__(self, seed: str, label: str):
        self._key = hashlib.sha256(f"rig-pki-key\x00{seed}\x00{label}".encode()).digest()
        self._counter = 0

    def randbits(self, bits: int) -> int:
        out = bytearray()
        while len(out) * 8 < bits:
            self._counter += 1
            out += hashlib.sha256(self._key + self._counter.to_bytes(8, "big")).digest()
        return int.from_bytes(out, "big") >> (len(out) * 8 - bits)


def _is_probable_prime(n: int, stream: _Stream, rounds: int = 6) -> bool:
    # FIPS 186-5 table B.1: 5 rounds bound the error below 2^-100 for 1024-bit candidates
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        a = 2 + stream.randbits(n.bit_length() - 1) % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, stream: _Stream) -> int:
    while True:
        # the two top bits set make p*q exactly 2*bits long
        candidate = stream.randbits(bits) | (3 << (bits - 2)) | 1
        for step in range(0, 4096, 2):
            n = candidate + step
            if n.bit_length() != bits:
                break
            if any(n % p == 0 for p in _SMALL_PRIMES):
                continue
            if math.gcd(n - 1, PUBLIC_EXPONENT) != 1:
                continue
            if _is_probable_prime(n, stream):
                return n


def derive_rsa_key(seed: str, label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The RSA key for (seed, label): the same inputs always give the same key."""
    stream = _Stream(seed, label)
    p = _prime(bits // 2, stream)
    q = _prime(bits // 2, stream)
    while q == p:
        q = _prime(bits // 2, stream)
    if p < q:
        p, q = q, p
    phi = (p - 1) * (q - 1)
    d = pow(PUBLIC_EXPONENT, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(PUBLIC_EXPONENT, p * q),
    )
    return numbers.private_key()


class KeyCache:
    """Derived keys kept as PEM under `folder`, one file per (seed, label)."""

    def __init__(self, folder: Path, seed: str):
        self.folder = Path(folder)
        self.seed = seed

    def path_for(self, label: str) -> Path:
        digest = hashlib.sha256(f"{self.seed}\x00{label}".encode()).hexdigest()[:24]
        return self.folder / f"{digest}.key.pem"

    def get(self, label: str, bits: int = 2048) -> rsa.RSAPrivateKey:
        path = self.path_for(label)
        stamp = _stamp(path)
        loaded = _LOADED.get((path, bits))
        if loaded is not None and stamp is not None and loaded[0] == stamp:
            return loaded[1]
        key = self._load_or_derive(path, label, bits)
        stamp = _stamp(path)
        if stamp is not None:
            _LOADED[(path, bits)] = (stamp, key)
        return key

    def _load_or_derive(self, path: Path, label: str, bits: int) -> rsa.RSAPrivateKey:
        if path.exists():
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except ValueError:
                key = None  # a torn write from an interrupted run: derive again
            if isinstance(key, rsa.RSAPrivateKey) and key.key_size == bits:
                return key
        key = derive_rsa_key(self.seed, label, bits)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, key_pem(key), 0o600)
        return key
