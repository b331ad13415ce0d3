"""Fuzzing the printer: mutated and random IPP requests, and raw HTTP garbage.

Per RIG_FUZZ_SCALE unit: 800 mutated requests + 150 structured requests to the IPP service
and 50 raw HTTP exchanges = 1,000 requests (20,000 under `make fuzz`). A crash is any answer
that is not IPP, an internal-error status (an exception escaped an operation), or a printer
that no longer prints afterwards.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.printer import VirtualPrinter
from emulators.printer.samples import make_pdf
from rig.core.clock import RigClock
from rig.core.drivers.ipp_client import IppClient
from rig.core.protocols.ipp import (
    Attribute,
    GroupTag,
    IppMessage,
    JobState,
    Operation,
    Status,
    ValueTag,
    decode,
    encode,
    request,
)
from tests.printer.conftest import SCALE
from tests.printer.test_ipp_codec import _attr, _value

URI = "ipp://127.0.0.1/ipp/print"
TINY_PDF = make_pdf(1, label="F")


def _seeds() -> list[bytes]:
    seeds = []
    for op in (
        Operation.GET_PRINTER_ATTRIBUTES,
        Operation.VALIDATE_JOB,
        Operation.PRINT_JOB,
        Operation.CREATE_JOB,
        Operation.GET_JOBS,
        Operation.IDENTIFY_PRINTER,
        Operation.CANCEL_MY_JOBS,
    ):
        msg = request(op, 1, URI)
        msg.operation_attributes.add("requesting-user-name", ValueTag.NAME, "fuzz")
        if op == Operation.PRINT_JOB:
            msg.operation_attributes.add(
                "document-format", ValueTag.MIME_MEDIA_TYPE, "application/pdf"
            )
            job = msg.add_group(GroupTag.JOB)
            job.add("sides", ValueTag.KEYWORD, "two-sided-long-edge")
            job.add("copies", ValueTag.INTEGER, 1)
            msg.data = TINY_PDF
        if op == Operation.GET_PRINTER_ATTRIBUTES:
            msg.operation_attributes.add(
                "requested-attributes", ValueTag.KEYWORD, "all", "media-col-database"
            )
        seeds.append(encode(msg))
    for op in (
        Operation.GET_JOB_ATTRIBUTES,
        Operation.CANCEL_JOB,
        Operation.SEND_DOCUMENT,
        Operation.CLOSE_JOB,
    ):
        msg = request(op, 2, URI)
        msg.operation_attributes.add("job-id", ValueTag.INTEGER, 1)
        if op == Operation.SEND_DOCUMENT:
            msg.operation_attributes.add("last-document", ValueTag.BOOLEAN, True)
            msg.data = b"%PDF-1.4 not really"
        seeds.append(encode(msg))
    return seeds


SEEDS = _seeds()


@pytest.fixture(scope="module")
def fuzz_printer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualPrinter]:
    # a low resolution keeps thousands of fuzz-made sheets small
    folder: Path = tmp_path_factory.mktemp("fuzz-capture")
    with VirtualPrinter(RigClock(), None, folder, dpi=20) as vp:
        yield vp


def _answer_ok(printer: VirtualPrinter, body: bytes) -> IppMessage:
    raw = printer.service.handle(body, "/ipp/print")
    answer = decode(raw)  # must always be IPP
    assert answer.code != Status.SERVER_ERROR_INTERNAL_ERROR, answer
    assert answer.groups and answer.groups[0].attributes[0].name == "attributes-charset"
    printer.certificate.tray.take()
    return answer


_mutation = st.tuples(
    st.sampled_from(["replace", "insert", "delete", "truncate"]),
    st.integers(0, 2000),
    st.binary(min_size=1, max_size=8),
)


@pytest.mark.fuzz
@settings(
    max_examples=800 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.sampled_from(SEEDS), st.lists(_mutation, min_size=1, max_size=4))
def test_fuzz_mutated_requests(
    fuzz_printer: VirtualPrinter, seed: bytes, mutations: list[tuple[str, int, bytes]]
) -> None:
    body = bytearray(seed)
    for kind, pos, junk in mutations:
        pos %= len(body) + 1
        if kind == "replace":
            body[pos : pos + len(junk)] = junk
        elif kind == "insert":
            body[pos:pos] = junk
        elif kind == "delete":
            del body[pos : pos + len(junk)]
        else:
            del body[pos:]
    _answer_ok(fuzz_printer, bytes(body))


@pytest.mark.fuzz
@settings(
    max_examples=150 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from([int(o) for o in Operation] + [0, 0x4001]),
    st.lists(_attr(_value), max_size=4),
    st.lists(_attr(_value), max_size=4),
    st.sampled_from([b"", TINY_PDF, b"%PDF-1.7\n%%EOF", b"\x1f\x8b\x08junk"]),
)
def test_fuzz_structured_requests(
    fuzz_printer: VirtualPrinter,
    op: int,
    extra_op: list[Attribute],
    job_attrs: list[Attribute],
    data: bytes,
) -> None:
    msg = request(op, 3, URI)
    msg.operation_attributes.attributes.extend(extra_op)
    msg.add_group(GroupTag.JOB).attributes.extend(job_attrs)
    msg.data = data
    try:
        body = encode(msg)
    except ValueError:
        return
    _answer_ok(fuzz_printer, body)


_header = st.sampled_from(
    [
        "Content-Length: 5\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: 99999999999\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Content-Encoding: gzip\r\n",
        "Content-Encoding: deflate\r\n",
        "Expect: 100-continue\r\n",
        "Content-Type: application/ipp\r\n",
        "Content-Type: text/html\r\n",
        "X-Junk: \x01\x02\r\n",
    ]
)


@pytest.mark.fuzz
@settings(
    max_examples=50 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from(["POST", "GET", "PUT", "BREW"]),
    st.sampled_from(["/ipp/print", "/ipp/receipt", "/", "/ipp/print/1", "/../etc"]),
    st.lists(_header, max_size=4),
    st.one_of(st.binary(max_size=200), st.sampled_from(SEEDS)),
)
def test_fuzz_raw_http(
    fuzz_printer: VirtualPrinter, method: str, path: str, headers: list[str], body: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", fuzz_printer.port), timeout=15) as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{''.join(headers)}\r\n"
        sock.sendall(head.encode("latin-1") + body)
        sock.shutdown(socket.SHUT_WR)  # the server sees the end, never waits for more
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    if reply:
        assert reply.startswith(b"HTTP/1."), reply[:100]
        status = int(reply.split()[1])
        assert status != 500, reply[:200]  # 501 (unknown method) is a proper answer
        if status == 200 and b"application/ipp" in reply.split(b"\r\n\r\n")[0]:
            answer = decode(reply.split(b"\r\n\r\n", 1)[1])
            assert answer.code != Status.SERVER_ERROR_INTERNAL_ERROR


@pytest.mark.fuzz
def test_printer_still_prints_after_the_fuzzing(fuzz_printer: VirtualPrinter) -> None:
    # runs after the campaigns above in file order; on its own it is a plain smoke test
    fuzz_printer.faults.refill()
    fuzz_printer.faults.clear_jam()
    client = IppClient(fuzz_printer.uri, timeout=15)
    job = client.print_job(make_pdf(2), sides="two-sided-long-edge")
    assert client.wait_for_job(job.job_id, timeout=60).state == JobState.COMPLETED
