"""Fuzz `verify`: a package with bytes flipped, cut or spliced anywhere (the gzip stream, tar
headers, the manifest, a signature) is never reported intact and never crashes verify.
150 mutations at `make test`, 3,000 under `make fuzz` (RIG_FUZZ_SCALE)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rig.harness.fuzz import examples
from rig.harness.validation.package import create_package, verify_package
from tests.validation.conftest import finish_run, write_signer


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, Path, Path]:
    folder = tmp_path_factory.mktemp("fuzz-package")
    finish_run(folder / "r", folder / "l.jsonl")
    signer = write_signer(folder / "pki", "operator")
    archive = folder / "p.tar.gz"
    create_package(folder / "r", archive, signer.key, signer.cert)
    packed = archive.read_bytes()
    return packed, gzip.decompress(packed), signer.cert, folder


mutation = st.tuples(
    st.sampled_from(["flip", "cut", "splice"]),
    st.floats(min_value=0, max_value=1, exclude_max=True),
    st.binary(min_size=1, max_size=16),
)


@pytest.mark.fuzz
@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(mutation, st.booleans())
def test_a_mutated_package_is_never_intact(
    made: tuple[bytes, bytes, Path, Path],
    change: tuple[str, float, bytes],
    inside_gzip: bool,
) -> None:
    packed, tar, cert, folder = made
    data = bytearray(tar if inside_gzip else packed)
    kind, where, chunk = change
    at = int(where * len(data))
    if kind == "flip":
        data[at] ^= chunk[0] or 0x01
    elif kind == "cut":
        del data[at:]
    else:
        data[at:at] = chunk
    body = gzip.compress(bytes(data)) if inside_gzip else bytes(data)
    target = folder / "mutated.tar.gz"
    target.write_bytes(body)
    result = verify_package(target, [cert])
    if result.ok:
        # only a change that leaves every file's bytes as they were (tar padding, the gzip
        # header's name or time) may verify
        with gzip.open(target) as fh:
            assert _files(fh.read()) == _files(tar)
    else:
        assert all(isinstance(p, str) and p for p in result.problems)


def _files(tar: bytes) -> dict[str, bytes]:
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]
