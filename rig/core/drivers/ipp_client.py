"""A small IPP/2.0 client: the reference kiosk's print path and the scenarios' printer probe.

Print-Job (a PDF, `sides`, `media`, `copies`), Get-Job-Attributes, Get-Printer-Attributes,
Get-Jobs and Cancel-Job over HTTP/1.1 POST, one connection per request, every call bounded by
a time-out. Works against the rig's virtual printer or any IPP Everywhere printer.
"""

from __future__ import annotations

import http.client
import itertools
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rig.core.protocols.ipp import (
    Attribute,
    Collection,
    GroupTag,
    IppDecodeError,
    IppMessage,
    JobState,
    Operation,
    PrinterState,
    Status,
    ValueTag,
    decode,
    encode,
    request,
    status_name,
)

#: vendor attribute of the rig's printer: sheets waiting in the output tray (取り忘れ)
TRAY_SHEETS = "konbini-output-tray-sheets"
#: vendor printer-state-reasons keyword for the same condition
SHEETS_IN_TRAY_REASON = "konbini-sheets-in-output-tray-report"


class IppClientError(Exception):
    """The printer answered with an error status, or not with IPP at all."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class JobInfo:
    job_id: int
    state: JobState
    reasons: tuple[str, ...]
    message: str
    attributes: dict[str, Any]

    @property
    def done(self) -> bool:
        return self.state.terminal


def _plain(value: Any) -> Any:
    if isinstance(value, Collection):
        return {a.name: _flatten(a) for a in value.attributes}
    return value


def _flatten(attr: Attribute) -> Any:
    values = [_plain(v) for v in attr.all()]
    return values[0] if len(values) == 1 else values


def _listed(value: Any) -> list[Any]:
    """A one-value attribute as a list of one (attributes_of flattens single values)."""
    return value if isinstance(value, list) else [value]


def attributes_of(msg: IppMessage, group_tag: int) -> list[dict[str, Any]]:
    """Each group of a kind as {name: value or [values]}."""
    return [{a.name: _flatten(a) for a in g.attributes} for g in msg.groups_of(group_tag)]


class IppClient:
    def __init__(self, printer_uri: str, *, timeout: float = 30.0, user: str = "kiosk"):
        parts = urlsplit(printer_uri)
        if parts.scheme not in ("ipp", "http") or not parts.hostname:
            raise ValueError(f"need an ipp:// or http:// printer URI, not {printer_uri!r}")
        self.printer_uri = printer_uri
        self.host = parts.hostname
        self.port = parts.port or 631
        self.path = parts.path or "/"
        self.timeout = timeout
        self.user = user
        self._ids = itertools.count(1)

    # -- transport ---------------------------------------------------------------------------
    def send(self, msg: IppMessage) -> IppMessage:
        """POST one request and decode the answer (whatever its status)."""
        body = encode(msg)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", self.path, body, {"Content-Type": "application/ipp"})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise IppClientError(f"printer unreachable: {exc!r}") from exc
        finally:
            conn.close()
        if resp.status != 200:
            raise IppClientError(f"HTTP {resp.status}: {data[:200]!r}")
        try:
            return decode(data)
        except IppDecodeError as exc:
            raise IppClientError(f"not an IPP answer: {exc}") from exc

    def _request(self, operation: Operation) -> IppMessage:
        msg = request(operation, next(self._ids), self.printer_uri)
        msg.operation_attributes.add("requesting-user-name", ValueTag.NAME, self.user)
        return msg

    def _checked(self, msg: IppMessage) -> IppMessage:
        answer = self.send(msg)
        if answer.code >= 0x0400:
            status_msg = answer.get("status-message")
            text = status_msg.value if status_msg is not None else None
            detail = f": {text}" if isinstance(text, str) else ""
            raise IppClientError(f"{status_name(answer.code)}{detail}", answer.code)
        return answer

    # -- operations --------------------------------------------------------------------------
    def print_job(
        self,
        pdf: bytes,
        *,
        sides: str = "one-sided",
        media: str | None = None,
        copies: int = 1,
        job_name: str = "certificate",
        fidelity: bool = True,
    ) -> JobInfo:
        msg = self._request(Operation.PRINT_JOB)
        op = msg.operation_attributes
        op.add("job-name", ValueTag.NAME, job_name)
        op.add("ipp-attribute-fidelity", ValueTag.BOOLEAN, fidelity)
        op.add("document-format", ValueTag.MIME_MEDIA_TYPE, "application/pdf")
        job = msg.add_group(GroupTag.JOB)
        job.add("sides", ValueTag.KEYWORD, sides)
        job.add("copies", ValueTag.INTEGER, copies)
        if media is not None:
            job.add("media", ValueTag.KEYWORD, media)
        msg.data = pdf
        return self._job_info(self._checked(msg))

    def get_job(self, job_id: int) -> JobInfo:
        msg = self._request(Operation.GET_JOB_ATTRIBUTES)
        msg.operation_attributes.add("job-id", ValueTag.INTEGER, job_id)
        msg.operation_attributes.add("requested-attributes", ValueTag.KEYWORD, "all")
        return self._job_info(self._checked(msg))

    def cancel_job(self, job_id: int) -> None:
        msg = self._request(Operation.CANCEL_JOB)
        msg.operation_attributes.add("job-id", ValueTag.INTEGER, job_id)
        self._checked(msg)

    def get_jobs(self, which: str = "not-completed") -> list[dict[str, Any]]:
        msg = self._request(Operation.GET_JOBS)
        msg.operation_attributes.add("which-jobs", ValueTag.KEYWORD, which)
        msg.operation_attributes.add(
            "requested-attributes", ValueTag.KEYWORD, "job-id", "job-state", "job-state-reasons"
        )
        return attributes_of(self._checked(msg), GroupTag.JOB)

    def get_printer_attributes(self, *names: str) -> dict[str, Any]:
        msg = self._request(Operation.GET_PRINTER_ATTRIBUTES)
        msg.operation_attributes.add("requested-attributes", ValueTag.KEYWORD, *(names or ("all",)))
        groups = attributes_of(self._checked(msg), GroupTag.PRINTER)
        return groups[0] if groups else {}

    # -- conveniences a kiosk needs ----------------------------------------------------------
    def printer_state(self) -> tuple[PrinterState, list[str]]:
        attrs = self.get_printer_attributes("printer-state", "printer-state-reasons")
        return PrinterState(attrs["printer-state"]), _listed(attrs.get("printer-state-reasons", []))

    def output_tray_sheets(self) -> int | None:
        """Sheets waiting in the output tray, or None if the printer cannot tell."""
        value = self.get_printer_attributes(TRAY_SHEETS).get(TRAY_SHEETS)
        return value if isinstance(value, int) else None

    def wait_for_job(self, job_id: int, *, timeout: float = 60.0, poll_s: float = 0.05) -> JobInfo:
        """Poll until the job ends; raises IppClientError on time-out (wall clock, not rig)."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.get_job(job_id)
            if info.done:
                return info
            if time.monotonic() > deadline:
                raise IppClientError(
                    f"job {job_id} still {info.state.name.lower()} after {timeout}s"
                )
            time.sleep(poll_s)

    @staticmethod
    def _job_info(answer: IppMessage) -> JobInfo:
        groups = attributes_of(answer, GroupTag.JOB)
        if not groups or "job-id" not in groups[0]:
            raise IppClientError("the answer names no job", answer.code)
        attrs = groups[0]
        return JobInfo(
            job_id=int(attrs["job-id"]),
            state=JobState(attrs.get("job-state", JobState.PENDING)),
            reasons=tuple(_listed(attrs.get("job-state-reasons", []))),
            message=str(attrs.get("job-state-message", "")),
            attributes=attrs,
        )


__all__ = ["IppClient", "IppClientError", "JobInfo", "Status"]
