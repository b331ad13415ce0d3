"""What the printer records to judge a print: the document's SHA-256, the scaling asked for,
and (receipts only) the text layer; plus the negative controls of the scenario checks built
on them (scenarios/document_checks.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from emulators.printer import VirtualPrinter
from emulators.printer.samples import make_pdf, make_receipt_pdf
from rig.core.drivers.ipp_client import IppClient, IppClientError, JobInfo
from rig.core.evidence import EvidenceStore
from rig.core.protocols.ipp import JobState, Operation, Status, ValueTag
from scenarios.document_checks import fidelity_problems, receipt_problems


def ended(evidence: EvidenceStore, printer: str = "print") -> list[dict[str, Any]]:
    return [r for r in evidence.records(f"printer-{printer}") if r["event"] == "job-ended"]


def sheets(evidence: EvidenceStore, job_id: int, printer: str = "print") -> list[dict[str, Any]]:
    return [
        r
        for r in evidence.records(f"printer-{printer}")
        if r["event"] == "sheet" and r["job_id"] == job_id
    ]


def print_and_wait(
    printer: VirtualPrinter, client: IppClient, pdf: bytes, **kwargs: Any
) -> JobInfo:
    job = client.print_job(pdf, **kwargs)
    device = printer.receipt if client.printer_uri == printer.receipt_uri else printer.certificate
    device.wait_for_job(job.job_id, {JobState.COMPLETED})
    return job


def print_with_scaling(client: IppClient, pdf: bytes, *, fidelity: bool, **scaling: Any) -> int:
    """A Print-Job carrying scaling / fit attributes (which IppClient.print_job never sends)."""
    msg = client._request(Operation.PRINT_JOB)
    op = msg.operation_attributes
    op.add("ipp-attribute-fidelity", ValueTag.BOOLEAN, fidelity)
    op.add("document-format", ValueTag.MIME_MEDIA_TYPE, "application/pdf")
    job = msg.add_group(0x02)
    job.add("sides", ValueTag.KEYWORD, "two-sided-long-edge")
    tags = {bool: ValueTag.BOOLEAN, int: ValueTag.INTEGER, str: ValueTag.KEYWORD}
    for name, value in scaling.items():
        job.add(name.replace("_", "-"), tags[type(value)], value)
    msg.data = pdf
    answer = client._checked(msg)
    job_id = answer.get("job-id")
    assert job_id is not None and isinstance(job_id.value, int)
    return job_id.value


# -- SHA-256 and scaling -------------------------------------------------------------------
def test_printer_records_the_sha256_of_each_document(
    printer: VirtualPrinter, client: IppClient, evidence: EvidenceStore
) -> None:
    pdf = make_pdf(3)
    job = print_and_wait(printer, client, pdf, sides="two-sided-long-edge", copies=2)
    digest = hashlib.sha256(pdf).hexdigest()
    queued = [r for r in evidence.records("printer-print") if r["event"] == "job-queued"]
    assert [r["document_sha256"] for r in queued] == [digest]
    (record,) = ended(evidence)
    assert record["job_id"] == job.job_id and record["document_sha256"] == digest
    assert record["scaling_requested"] == {}, "the client asked for no scaling"
    assert fidelity_problems(digest, 3, 2, record, sheets(evidence, job.job_id)) == []


def test_scaling_none_is_supported_and_recorded(
    printer: VirtualPrinter, client: IppClient, evidence: EvidenceStore
) -> None:
    attrs = client.get_printer_attributes()
    assert attrs["print-scaling-supported"] == "none"
    assert attrs["print-scaling-default"] == "none"
    pdf = make_pdf(2)
    job_id = print_with_scaling(client, pdf, fidelity=True, print_scaling="none")
    printer.certificate.wait_for_job(job_id, {JobState.COMPLETED})
    (record,) = ended(evidence)
    assert record["scaling_requested"] == {"print-scaling": "none"}
    digest = hashlib.sha256(pdf).hexdigest()
    assert fidelity_problems(digest, 2, 1, record, sheets(evidence, job_id)) == []


def test_scaling_the_printer_cannot_do_is_refused_with_fidelity(client: IppClient) -> None:
    with pytest.raises(IppClientError) as info:
        print_with_scaling(client, make_pdf(1), fidelity=True, print_scaling="fit")
    assert info.value.status == Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED


# -- the negative controls of the PRINT-004 check -------------------------------------------
def test_fidelity_check_catches_an_altered_document(
    printer: VirtualPrinter, client: IppClient, evidence: EvidenceStore
) -> None:
    served = make_pdf(2, label="SERVED")
    altered = make_pdf(2, label="ALTERED")  # same pages and layout, other content
    job = print_and_wait(printer, client, altered, sides="two-sided-long-edge")
    (record,) = ended(evidence)
    problems = fidelity_problems(
        hashlib.sha256(served).hexdigest(), 2, 1, record, sheets(evidence, job.job_id)
    )
    assert len(problems) == 1 and "different document" in problems[0]


def test_fidelity_check_catches_scaling_pages_and_paper(
    printer: VirtualPrinter, client: IppClient, evidence: EvidenceStore
) -> None:
    pdf = make_pdf(1, page_size="letter")
    job_id = print_with_scaling(client, pdf, fidelity=False, fit_to_page=True, print_scaling="fit")
    printer.certificate.wait_for_job(job_id, {JobState.COMPLETED})
    (record,) = ended(evidence)
    assert record["scaling_requested"] == {"fit-to-page": True, "print-scaling": "fit"}
    problems = fidelity_problems(
        hashlib.sha256(pdf).hexdigest(), 1, 1, record, sheets(evidence, job_id)
    )
    assert problems[:2] == [
        "the job asked for scaling: fit-to-page=True",
        "the job asked for scaling: print-scaling='fit'",
    ]
    assert len(problems) == 3 and problems[2].startswith("sheet 1 front is 215.9")
    assert problems[2].endswith("not A4")
    wrong_pages = fidelity_problems(
        hashlib.sha256(pdf).hexdigest(), 3, 2, record, sheets(evidence, job_id)
    )
    assert "1 pages printed, the document has 3" in wrong_pages
    assert "1 copies asked of the printer, 2 ordered" in wrong_pages
    assert "1 sheets captured, 4 expected" in wrong_pages


# -- receipt text --------------------------------------------------------------------------
def test_receipt_printer_keeps_the_text_of_each_receipt(
    printer: VirtualPrinter, receipt_client: IppClient, evidence: EvidenceStore
) -> None:
    job = print_and_wait(printer, receipt_client, make_receipt_pdf(), fidelity=False)
    (sheet,) = printer.take_receipts()
    assert sheet.text is not None
    assert "RECEIPT SAMPLE" in sheet.text and "fee 300 JPY" in sheet.text
    (record,) = sheets(evidence, job.job_id, "receipt")
    assert record["text"] == sheet.text


def test_certificate_printer_keeps_no_text(
    printer: VirtualPrinter, client: IppClient, evidence: EvidenceStore
) -> None:
    job = print_and_wait(printer, client, make_pdf(2, label="PERSONAL DATA"), copies=1)
    taken = printer.take_sheets()
    assert len(taken) == 2 and all(s.text is None for s in taken)
    logged = sheets(evidence, job.job_id)
    assert len(logged) == 2 and all("text" not in r for r in logged)
    assert not any("PERSONAL DATA" in str(r) for r in evidence.records("printer-print"))


# -- the negative controls of the PAY-012 check ---------------------------------------------
def test_receipt_check_reads_amounts_whole() -> None:
    text = "領収書\n証明書 住民票の写し\n部数 ３通\n単価 ２００円\n合計 ¥1,200\n"
    assert receipt_problems(text, "住民票の写し", 3, 200, 1200) == []
    assert receipt_problems(text, "住民票の写し", 3, 400, 1200) == ["fee per copy (400円) missing"]
    assert receipt_problems("住民票の写し 3通 合計1200円", "住民票の写し", 3, 200, 1200) == [
        "fee per copy (200円) missing"
    ]
    assert receipt_problems("戸籍謄本 1通 350円", "住民票の写し", 2, 350, 700) == [
        "certificate type '住民票の写し' missing",
        "copies (2通) missing",
        "total paid (700円) missing",
    ]
