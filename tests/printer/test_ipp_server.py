"""Bad input on the wire: malformed IPP, bad HTTP framing, wrong or broken documents.

Every case gets its documented answer and the printer keeps printing afterwards.
"""

from __future__ import annotations

import gzip
import socket
import time
import zlib

import pytest

from emulators.printer import VirtualPrinter
from emulators.printer.samples import make_pdf
from rig.core.clock import RigClock
from rig.core.drivers.ipp_client import IppClient
from rig.core.protocols.ipp import (
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


def raw_post(
    printer: VirtualPrinter, body: bytes, *, headers: str = "", chunked: bool = False
) -> tuple[int, bytes]:
    """One HTTP POST over a plain socket, so framing can be as wrong as a test needs."""
    with socket.create_connection(("127.0.0.1", printer.port), timeout=10) as sock:
        head = f"POST /ipp/print HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}"
        if "Content-Type" not in headers:
            head += "Content-Type: application/ipp\r\n"
        if chunked:
            payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
            head += "Transfer-Encoding: chunked\r\n"
        else:
            payload = body
            if "Content-Length" not in headers:
                head += f"Content-Length: {len(body)}\r\n"
        sock.sendall(head.encode() + b"\r\n" + payload)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_bytes, _, content = data.partition(b"\r\n\r\n")
    return int(head_bytes.split()[1]), content


def ipp(printer: VirtualPrinter, msg: IppMessage) -> IppMessage:
    status, content = raw_post(printer, encode(msg))
    assert status == 200
    return decode(content)


def print_request(
    printer: VirtualPrinter, document: bytes, fmt: str = "application/pdf"
) -> IppMessage:
    msg = request(Operation.PRINT_JOB, 5, printer.uri)
    msg.operation_attributes.add("document-format", ValueTag.MIME_MEDIA_TYPE, fmt)
    msg.data = document
    return msg


def job_id_of(answer: IppMessage) -> int:
    attr = answer.get("job-id", GroupTag.JOB)
    assert attr is not None and isinstance(attr.value, int), answer
    return attr.value


def still_prints(client: IppClient) -> None:
    job = client.print_job(make_pdf(1))
    assert client.wait_for_job(job.job_id, timeout=30).state == JobState.COMPLETED


GPA = encode(request(Operation.GET_PRINTER_ATTRIBUTES, 9, "ipp://127.0.0.1/ipp/print"))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (GPA[:5], Status.CLIENT_ERROR_BAD_REQUEST),  # truncated header
        (GPA[:-1], Status.CLIENT_ERROR_BAD_REQUEST),  # no end tag
        (b"\x00\x00" + GPA[2:], Status.SERVER_ERROR_VERSION_NOT_SUPPORTED),
        (b"\x03\x00" + GPA[2:], Status.SERVER_ERROR_VERSION_NOT_SUPPORTED),
        (GPA[:8] + b"\x0e" + GPA[9:], Status.CLIENT_ERROR_BAD_REQUEST),  # bad delimiter tag
        (GPA[:9] + b"\x21" + GPA[10:], Status.CLIENT_ERROR_BAD_REQUEST),  # charset as integer
        (GPA[:4] + b"\x00\x00\x00\x00" + GPA[8:], Status.CLIENT_ERROR_BAD_REQUEST),  # id 0
        (GPA[:2] + b"\x7f\x7f" + GPA[4:], Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED),
    ],
)
def test_malformed_ipp_gets_the_right_status(
    printer: VirtualPrinter, client: IppClient, body: bytes, status: Status
) -> None:
    code, content = raw_post(printer, body)
    assert code == 200
    assert decode(content).code == status
    assert client.printer_state()[1] == ["none"]


def test_huge_attributes_are_refused_without_harm(
    printer: VirtualPrinter, client: IppClient
) -> None:
    msg = request(Operation.GET_PRINTER_ATTRIBUTES, 3, printer.uri)
    msg.operation_attributes.add("requesting-user-name", ValueTag.NAME, "x" * 60000)
    assert ipp(printer, msg).code == Status.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG
    many = GPA[:-1] + b"\x44\x00\x01z\x00\x01a" + b"\x44\x00\x00\x00\x01a" * 5000 + b"\x03"
    code, content = raw_post(printer, many)
    assert code == 200 and decode(content).code == Status.CLIENT_ERROR_BAD_REQUEST
    still_prints(client)


def test_missing_or_misordered_operation_attributes(printer: VirtualPrinter) -> None:
    msg = IppMessage(Operation.GET_PRINTER_ATTRIBUTES, 4)
    op = msg.add_group(GroupTag.OPERATION)
    op.add("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en")
    op.add("attributes-charset", ValueTag.CHARSET, "utf-8")
    answer = ipp(printer, msg)
    assert answer.code == Status.CLIENT_ERROR_BAD_REQUEST
    message = answer.get("status-message")
    assert message is not None and "charset must come first" in str(message.value)
    no_uri = request(Operation.GET_PRINTER_ATTRIBUTES, 4, printer.uri)
    no_uri.operation_attributes.attributes.pop()
    assert ipp(printer, no_uri).code == Status.CLIENT_ERROR_BAD_REQUEST
    latin = request(Operation.GET_PRINTER_ATTRIBUTES, 4, printer.uri)
    latin.operation_attributes.attributes[0].values[0].value = "iso-8859-1"
    assert ipp(printer, latin).code == Status.CLIENT_ERROR_CHARSET_NOT_SUPPORTED


def test_a_document_that_is_not_pdf_aborts_its_job(
    printer: VirtualPrinter, client: IppClient
) -> None:
    answer = ipp(printer, print_request(printer, b"Hello, plain text"))
    assert answer.code == Status.CLIENT_ERROR_DOCUMENT_FORMAT_ERROR
    info = client.get_job(job_id_of(answer))
    assert info.state == JobState.ABORTED and "document-format-error" in info.reasons
    unsupported = ipp(printer, print_request(printer, b"hello", "text/plain"))
    assert unsupported.code == Status.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED
    assert unsupported.get("document-format", GroupTag.UNSUPPORTED) is not None
    still_prints(client)


def test_a_corrupted_pdf_aborts_with_a_reason(printer: VirtualPrinter, client: IppClient) -> None:
    job = client.print_job(make_pdf(2)[:400])
    info = client.wait_for_job(job.job_id, timeout=30)
    assert info.state == JobState.ABORTED
    assert "document-format-error" in info.reasons
    assert "could not render" in info.message
    assert printer.tray_empty()
    still_prints(client)


def test_compressed_documents_and_bad_compression(
    printer: VirtualPrinter, client: IppClient
) -> None:
    for compression, data in (
        ("gzip", gzip.compress(make_pdf(1))),
        ("deflate", zlib.compress(make_pdf(1))[2:-4]),
    ):
        msg = print_request(printer, data)
        msg.operation_attributes.add("compression", ValueTag.KEYWORD, compression)
        answer = ipp(printer, msg)
        assert answer.code == Status.SUCCESSFUL_OK, compression
        assert client.wait_for_job(job_id_of(answer)).state == JobState.COMPLETED
    broken = print_request(printer, b"\x1f\x8b not really gzip")
    broken.operation_attributes.add("compression", ValueTag.KEYWORD, "gzip")
    assert ipp(printer, broken).code == Status.CLIENT_ERROR_COMPRESSION_ERROR
    odd = print_request(printer, make_pdf(1))
    odd.operation_attributes.add("compression", ValueTag.KEYWORD, "compress")
    assert ipp(printer, odd).code == Status.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED


def test_unsupported_values_with_and_without_fidelity(printer: VirtualPrinter) -> None:
    msg = print_request(printer, make_pdf(1))
    msg.add_group(GroupTag.JOB).add("media", ValueTag.KEYWORD, "na_letter_8.5x11in")
    answer = ipp(printer, msg)
    assert answer.code == Status.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED
    assert answer.get("media", GroupTag.UNSUPPORTED) is not None
    msg.operation_attributes.add("ipp-attribute-fidelity", ValueTag.BOOLEAN, True)
    assert ipp(printer, msg).code == Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED


def test_chunked_body_is_accepted(printer: VirtualPrinter) -> None:
    code, content = raw_post(printer, GPA, chunked=True)
    assert code == 200 and decode(content).code == Status.SUCCESSFUL_OK


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ("Content-Type: text/plain\r\n", GPA, 400),
        ("Content-Length: abc\r\n", GPA, 400),
        ("Content-Length: 999999999999\r\n", GPA, 413),
        ("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", b"zz\r\n", 400),
        ("Content-Encoding: br\r\n", GPA, 415),
    ],
)
def test_bad_http_framing_gets_an_http_error(
    printer: VirtualPrinter, client: IppClient, headers: str, body: bytes, status: int
) -> None:
    code, _ = raw_post(printer, body, headers=headers)
    assert code == status
    assert client.printer_state()[0] is not None


def test_a_stalled_client_does_not_block_others(printer: VirtualPrinter, client: IppClient) -> None:
    with socket.create_connection(("127.0.0.1", printer.port), timeout=10) as stalled:
        stalled.sendall(
            b"POST /ipp/print HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\n"
            b"Content-Length: 1000\r\n\r\nab"
        )
        started = time.monotonic()
        still_prints(client)
        assert time.monotonic() - started < 10


def test_create_job_send_document_and_close(printer: VirtualPrinter, client: IppClient) -> None:
    create = request(Operation.CREATE_JOB, 11, printer.uri)
    job_id = job_id_of(ipp(printer, create))
    send = request(Operation.SEND_DOCUMENT, 12, printer.uri)
    send.operation_attributes.add("job-id", ValueTag.INTEGER, job_id)
    assert ipp(printer, send).code == Status.CLIENT_ERROR_BAD_REQUEST  # no last-document
    send.operation_attributes.add("last-document", ValueTag.BOOLEAN, True)
    send.data = make_pdf(2)
    assert ipp(printer, send).code == Status.SUCCESSFUL_OK
    assert client.wait_for_job(job_id).state == JobState.COMPLETED
    assert ipp(printer, send).code == Status.CLIENT_ERROR_NOT_POSSIBLE


def test_create_job_without_a_document_times_out_on_the_rig_clock(
    printer: VirtualPrinter, client: IppClient, rig_clock: RigClock
) -> None:
    job_id = job_id_of(ipp(printer, request(Operation.CREATE_JOB, 13, printer.uri)))
    rig_clock.advance(59)
    assert client.get_job(job_id).state == JobState.PENDING
    rig_clock.advance(1)
    info = client.get_job(job_id)
    assert info.state == JobState.ABORTED and "job-data-insufficient" in info.reasons


def test_get_jobs_filters(printer: VirtualPrinter, client: IppClient) -> None:
    job = client.print_job(make_pdf(1))
    client.wait_for_job(job.job_id)
    assert [j["job-id"] for j in client.get_jobs("completed")] == [job.job_id]
    assert client.get_jobs("not-completed") == []


def test_a_post_without_any_length_gets_411(printer: VirtualPrinter) -> None:
    with socket.create_connection(("127.0.0.1", printer.port), timeout=10) as sock:
        sock.sendall(
            b"POST /ipp/print HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\n\r\n"
        )
        reply = sock.recv(4096)
    assert reply.split()[1] == b"411"


@pytest.mark.parametrize("uri", ["ipp://[27.0.0.1/ipp/print", "ipp://[::1/ipp/print"])
def test_unparseable_printer_uri_is_a_bad_request(printer: VirtualPrinter, uri: str) -> None:
    """Found by the fuzzer: a URI urlsplit cannot parse once made the printer answer 0x0500."""
    msg = request(Operation.GET_PRINTER_ATTRIBUTES, 7, uri)
    answer = ipp(printer, msg)
    assert answer.code in (Status.CLIENT_ERROR_BAD_REQUEST, Status.CLIENT_ERROR_NOT_FOUND)
    healthy = ipp(printer, request(Operation.GET_PRINTER_ATTRIBUTES, 8, printer.uri))
    assert healthy.code == Status.SUCCESSFUL_OK
