"""IPP operations (RFC 8011, PWG 5100.14 subset) on top of the print engines.

`IppService.handle` takes one request body and returns one response body; it never raises.
Malformed requests get `client-error-bad-request`, unknown operations
`server-error-operation-not-supported`, and any bug inside an operation
`server-error-internal-error` (recorded as evidence), so one bad request never stops the printer.
What the printers support, and the attribute table advertising it, is printer_attributes.py.
"""

from __future__ import annotations

import gzip
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from emulators.printer.model import Job, PrinterDevice
from emulators.printer.printer_attributes import (
    COMPRESSIONS,
    DOCUMENT_FORMATS,
    FIXED_CHOICES,
    JOB_TEMPLATE,
    MAX_COPIES,
    OPERATION_TIME_OUT_S,
    media_dims,
    printer_attributes,
)
from rig.core.protocols.ipp import (
    Attribute,
    Collection,
    Group,
    GroupTag,
    IppDecodeError,
    IppMessage,
    Operation,
    Resolution,
    Status,
    StringWithLanguage,
    ValueTag,
    decode,
    encode,
)

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024


class IppError(Exception):
    """Ends an operation with a status; `unsupported` attributes go back to the client."""

    def __init__(self, status: Status, message: str, unsupported: Iterable[Attribute | None] = ()):
        super().__init__(message)
        self.status = status
        self.unsupported = [attr for attr in unsupported if attr is not None]


@dataclass
class _Ctx:
    req: IppMessage
    resp: IppMessage
    device: PrinterDevice
    printer_uri: str
    ignored: list[Attribute]
    #: scaling / fit attributes of the job being created, as the client sent them
    scaling: dict[str, Any] = field(default_factory=dict)


def _string(attr: Attribute | None, tags: Iterable[int], what: str) -> str | None:
    if attr is None:
        return None
    if len(attr.values) != 1 or attr.tag not in set(tags) or not isinstance(attr.value, str):
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, f"{what}: wrong syntax", [attr])
    if len(attr.value.encode()) > 1023:
        raise IppError(Status.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG, f"{what}: too long", [attr])
    return attr.value


def _integer(attr: Attribute | None, what: str) -> int | None:
    if attr is None:
        return None
    value = attr.value
    if len(attr.values) != 1 or attr.tag != ValueTag.INTEGER or not isinstance(value, int):
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, f"{what}: wrong syntax", [attr])
    return value


NAME_TAGS = (ValueTag.NAME, ValueTag.NAME_WITH_LANGUAGE)


class IppService:
    """Routes requests to the printers by resource path (/ipp/print, /ipp/receipt)."""

    def __init__(self, devices: Iterable[PrinterDevice]):
        self.devices = {d.profile.resource: d for d in devices}
        self.base_uri = "ipp://127.0.0.1:631"
        self.http_base = "http://127.0.0.1:631"
        self.uuids = {res: uuid.uuid4() for res in self.devices}

    def device_for(self, path: str) -> PrinterDevice | None:
        """The printer at `path`, or owning the job at `path` (/ipp/print/7)."""
        path = path.rstrip("/") or "/"
        device = self.devices.get(path)
        if device is None:
            parent, _, tail = path.rpartition("/")
            if tail.isdigit():
                device = self.devices.get(parent)
        return device

    # -- entry point -------------------------------------------------------------------------
    def handle(self, body: bytes, path: str) -> bytes:
        try:
            req = decode(body)
        except IppDecodeError as exc:
            return self._bare_error(body, Status.CLIENT_ERROR_BAD_REQUEST, str(exc))
        # answer in the request's version if we speak it, else in 2.0
        version = req.version if req.version[0] in (1, 2) else (2, 0)
        resp = IppMessage(Status.SUCCESSFUL_OK, req.request_id, version=version)
        op = resp.add_group(GroupTag.OPERATION)
        op.add("attributes-charset", ValueTag.CHARSET, "utf-8")
        op.add("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en")
        device = self.device_for(path)
        operation = req.code
        try:
            self._check_request(req)
            if device is None:
                raise IppError(Status.CLIENT_ERROR_NOT_FOUND, f"no printer at {path}")
            printer_uri = f"{self.base_uri}{device.profile.resource}"
            ctx = _Ctx(req, resp, device, printer_uri, [])
            handler = self._handlers().get(operation)
            if handler is None:
                raise IppError(
                    Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED,
                    f"operation 0x{operation:04x} is not supported",
                )
            handler(ctx)
            if ctx.ignored and resp.code == Status.SUCCESSFUL_OK:
                resp.code = Status.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED
                self._unsupported_group(resp).attributes.extend(ctx.ignored)
        except IppError as exc:
            resp.code = exc.status
            op.add("status-message", ValueTag.TEXT, str(exc)[:255])
            if exc.unsupported:
                self._unsupported_group(resp).attributes.extend(exc.unsupported)
        except Exception as exc:  # a bug must cost one request, never the printer
            resp.code = Status.SERVER_ERROR_INTERNAL_ERROR
            resp.groups = resp.groups[:1]
            op.add("status-message", ValueTag.TEXT, f"internal error: {type(exc).__name__}")
        if device is not None:
            device.record(
                "ipp",
                operation=_op_name(operation),
                request_id=req.request_id,
                status=f"0x{resp.code:04x}",
                document_bytes=len(req.data),
            )
        try:
            return encode(resp)
        except ValueError:
            return self._bare_error(body, Status.SERVER_ERROR_INTERNAL_ERROR, "unencodable answer")

    @staticmethod
    def _unsupported_group(resp: IppMessage) -> Group:
        return resp.group(GroupTag.UNSUPPORTED) or resp.add_group(GroupTag.UNSUPPORTED)

    @staticmethod
    def _bare_error(body: bytes, status: Status, message: str) -> bytes:
        request_id = int.from_bytes(body[4:8], "big") if len(body) >= 8 else 0
        resp = IppMessage(status, request_id & 0x7FFFFFFF)
        op = resp.add_group(GroupTag.OPERATION)
        op.add("attributes-charset", ValueTag.CHARSET, "utf-8")
        op.add("attributes-natural-language", ValueTag.NATURAL_LANGUAGE, "en")
        op.add("status-message", ValueTag.TEXT, message[:255])
        return encode(resp)

    def _check_request(self, req: IppMessage) -> None:
        """RFC 8011 3.1: version, request-id, and the first two operation attributes."""
        if req.version[0] not in (1, 2):
            raise IppError(
                Status.SERVER_ERROR_VERSION_NOT_SUPPORTED,
                f"IPP {req.version[0]}.{req.version[1]} is not supported",
            )
        if req.request_id <= 0:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "request-id must be positive")
        if not req.groups or req.groups[0].tag != GroupTag.OPERATION:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "no operation attributes")
        attrs = req.groups[0].attributes
        if len(req.groups_of(GroupTag.OPERATION)) > 1:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "two operation attribute groups")
        if len(attrs) < 2 or attrs[0].name != "attributes-charset":
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "attributes-charset must come first")
        if attrs[1].name != "attributes-natural-language":
            raise IppError(
                Status.CLIENT_ERROR_BAD_REQUEST, "attributes-natural-language must come second"
            )
        charset = _string(attrs[0], (ValueTag.CHARSET,), "attributes-charset")
        _string(attrs[1], (ValueTag.NATURAL_LANGUAGE,), "attributes-natural-language")
        if charset is None or charset.lower() not in ("utf-8", "us-ascii"):
            raise IppError(
                Status.CLIENT_ERROR_CHARSET_NOT_SUPPORTED, "charset must be utf-8", [attrs[0]]
            )
        for group in req.groups:
            names = [a.name for a in group.attributes]
            if len(names) != len(set(names)):
                raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "an attribute appears twice")
            for attr in group.attributes:
                if _too_long(attr):
                    raise IppError(
                        Status.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG,
                        f"{attr.name}: value too long",
                        [Attribute.of(attr.name, ValueTag.UNSUPPORTED, None)],
                    )

    def _handlers(self) -> dict[int, Callable[[_Ctx], object]]:
        return {
            Operation.GET_PRINTER_ATTRIBUTES: self._get_printer_attributes,
            Operation.VALIDATE_JOB: self._validate_common,
            Operation.PRINT_JOB: self._print_job,
            Operation.CREATE_JOB: self._create_job,
            Operation.SEND_DOCUMENT: self._send_document,
            Operation.CLOSE_JOB: self._close_job,
            Operation.GET_JOB_ATTRIBUTES: self._get_job_attributes,
            Operation.GET_JOBS: self._get_jobs,
            Operation.CANCEL_JOB: self._cancel_job,
            Operation.CANCEL_MY_JOBS: self._cancel_my_jobs,
            Operation.IDENTIFY_PRINTER: self._identify_printer,
        }

    # -- helpers -----------------------------------------------------------------------------
    def _target_printer(self, ctx: _Ctx) -> None:
        attr = ctx.req.operation_attributes.get("printer-uri")
        uri = _string(attr, (ValueTag.URI,), "printer-uri")
        if uri is None:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "printer-uri is missing")
        parts = _split_uri(uri, attr)
        if parts.scheme not in ("ipp", "ipps", "http", "https"):
            raise IppError(
                Status.CLIENT_ERROR_BAD_REQUEST, f"bad URI scheme {parts.scheme!r}", [attr]
            )
        if parts.path.rstrip("/") != ctx.device.profile.resource:
            raise IppError(Status.CLIENT_ERROR_NOT_FOUND, f"no printer at {parts.path!r}")

    def _target_job(self, ctx: _Ctx) -> Job:
        op = ctx.req.operation_attributes
        job_uri = _string(op.get("job-uri"), (ValueTag.URI,), "job-uri")
        job_id: int | None
        if job_uri is not None:
            path, _, tail = _split_uri(job_uri, op.get("job-uri")).path.rpartition("/")
            if path != ctx.device.profile.resource or not tail.isdigit():
                raise IppError(Status.CLIENT_ERROR_NOT_FOUND, f"no job at {job_uri!r}")
            job_id = int(tail)
        else:
            self._target_printer(ctx)
            job_id = _integer(op.get("job-id"), "job-id")
            if job_id is None:
                raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "job-id is missing")
        job = ctx.device.jobs.get(job_id)
        if job is None:
            raise IppError(Status.CLIENT_ERROR_NOT_FOUND, f"job {job_id} does not exist")
        return job

    def _requested(self, ctx: _Ctx) -> set[str] | None:
        attr = ctx.req.operation_attributes.get("requested-attributes")
        if attr is None:
            return None
        names: set[str] = set()
        for tv in attr.values:
            if tv.tag != ValueTag.KEYWORD or not isinstance(tv.value, str):
                raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "requested-attributes: keywords")
            names.add(tv.value)
        return names

    # -- job template validation -------------------------------------------------------------
    def _job_template(self, ctx: _Ctx) -> dict[str, str | int]:
        """The job's settings after checking every template attribute against what we support."""
        profile = ctx.device.profile
        op = ctx.req.operation_attributes
        job_group = ctx.req.group(GroupTag.JOB) or Group(GroupTag.JOB)
        fidelity_attr = op.get("ipp-attribute-fidelity")
        fidelity = fidelity_attr is not None and fidelity_attr.value is True
        bad: list[Attribute] = []
        settings: dict[str, str | int] = {
            "sides": "one-sided",
            "media": profile.media_default,
            "copies": 1,
        }
        supported: dict[str, tuple[object, ...]] = {
            "sides": profile.sides_supported,
            "media": profile.media_supported,
            "printer-resolution": (Resolution(ctx.device.dpi, ctx.device.dpi),),
            **FIXED_CHOICES,
        }
        for attr in job_group.attributes:
            single = len(attr.values) == 1
            if attr.name in SCALING_ATTRIBUTES:
                plain = [_plain(v.value) for v in attr.values]
                ctx.scaling[attr.name] = plain[0] if single else plain
            # a multi-valued attribute matches nothing supported
            value = attr.value if single else None
            setting = attr.name
            if attr.name == "media-col":
                value, setting = _media_from_col(value, profile.media_supported), "media"
                ok = value is not None
            elif attr.name == "copies":
                ok = (
                    attr.tag == ValueTag.INTEGER
                    and isinstance(value, int)
                    and 1 <= value <= MAX_COPIES
                )
            elif attr.name in supported:
                ok = value in supported[attr.name]
            else:
                ok = attr.name in ("job-name", "job-priority", "job-hold-until", "job-sheets")
            if not ok:
                bad.append(attr)
            elif setting in settings:
                settings[setting] = value if isinstance(value, int) else str(value)
        if bad:
            if fidelity:
                raise IppError(
                    Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                    "unsupported job attributes: " + ", ".join(a.name for a in bad),
                    bad,
                )
            ctx.ignored.extend(bad)
        return settings

    def _document_format(self, ctx: _Ctx) -> str:
        op = ctx.req.operation_attributes
        attr = op.get("document-format")
        fmt = _string(attr, (ValueTag.MIME_MEDIA_TYPE,), "document-format") or "application/pdf"
        if fmt not in DOCUMENT_FORMATS:
            raise IppError(
                Status.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
                f"document-format {fmt!r} is not supported; send application/pdf",
                [attr],
            )
        return fmt

    def _compression(self, ctx: _Ctx) -> str:
        attr = ctx.req.operation_attributes.get("compression")
        value = _string(attr, (ValueTag.KEYWORD,), "compression") or "none"
        if value not in COMPRESSIONS:
            raise IppError(
                Status.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED,
                f"compression {value!r} is not supported",
                [attr],
            )
        return value

    def _validate_common(self, ctx: _Ctx) -> tuple[str, str, dict[str, str | int]]:
        self._target_printer(ctx)
        op = ctx.req.operation_attributes
        _string(op.get("requesting-user-name"), NAME_TAGS, "requesting-user-name")
        _string(op.get("job-name"), NAME_TAGS, "job-name")
        _string(op.get("document-name"), NAME_TAGS, "document-name")
        fidelity = op.get("ipp-attribute-fidelity")
        if fidelity is not None and (fidelity.tag != ValueTag.BOOLEAN or len(fidelity.values) != 1):
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "ipp-attribute-fidelity: boolean")
        fmt = self._document_format(ctx)
        compression = self._compression(ctx)
        return fmt, compression, self._job_template(ctx)

    # -- operations --------------------------------------------------------------------------
    def _new_job(self, ctx: _Ctx, fmt: str, settings: dict[str, str | int]) -> Job:
        op = ctx.req.operation_attributes
        user = _string(op.get("requesting-user-name"), NAME_TAGS, "requesting-user-name")
        name = _string(op.get("job-name"), NAME_TAGS, "job-name")
        return ctx.device.create_job(
            name=name or "untitled",
            user=user or "anonymous",
            document_format=fmt,
            sides=str(settings["sides"]),
            media=str(settings["media"]),
            copies=int(settings["copies"]),
            scaling_requested=ctx.scaling,
        )

    def _accept_document(self, ctx: _Ctx, job: Job, compression: str) -> None:
        """Queue the request's document for `job`, or abort the job if it is not a (well
        compressed) PDF; the answer carries the job's attributes either way."""
        try:
            document = _decompress(ctx.req.data, compression)
        except ValueError as exc:
            ctx.device.abort(job, "compression-error", str(exc))
            self._job_group(ctx, job)
            raise IppError(Status.CLIENT_ERROR_COMPRESSION_ERROR, str(exc)) from exc
        if not document.lstrip()[:5].startswith(b"%PDF-"):
            message = "the document is not a PDF (no %PDF- header)"
            ctx.device.abort(job, "document-format-error", message)
            self._job_group(ctx, job)
            raise IppError(Status.CLIENT_ERROR_DOCUMENT_FORMAT_ERROR, message)
        ctx.device.add_document(job, document)
        self._job_group(ctx, job)

    def _print_job(self, ctx: _Ctx) -> None:
        fmt, compression, settings = self._validate_common(ctx)
        job = self._new_job(ctx, fmt, settings)
        self._accept_document(ctx, job, compression)

    def _create_job(self, ctx: _Ctx) -> None:
        _, _, settings = self._validate_common(ctx)
        job = self._new_job(ctx, "application/pdf", settings)
        device = ctx.device
        device.clock.call_later(OPERATION_TIME_OUT_S, lambda: device.expire_if_empty(job))
        self._job_group(ctx, job)

    def _send_document(self, ctx: _Ctx) -> None:
        job = self._target_job(ctx)
        op = ctx.req.operation_attributes
        last = op.get("last-document")
        if last is None or last.tag != ValueTag.BOOLEAN or len(last.values) != 1:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "last-document (boolean) is missing")
        if job.terminal:
            raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, f"job {job.id} has ended")
        if job.document_size or job.document is not None:
            raise IppError(
                Status.SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED,
                "one document per job",
            )
        self._document_format(ctx)
        compression = self._compression(ctx)
        if not ctx.req.data and last.value is True:
            ctx.device.abort(job, "job-data-insufficient", "no document data")
            self._job_group(ctx, job)
            return
        self._accept_document(ctx, job, compression)

    def _close_job(self, ctx: _Ctx) -> None:
        job = self._target_job(ctx)
        if job.terminal:
            raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, f"job {job.id} has ended")
        if job.document is None and not job.document_size:
            ctx.device.abort(job, "job-data-insufficient", "closed without a document")
        self._job_group(ctx, job)

    def _cancel_job(self, ctx: _Ctx) -> None:
        job = self._target_job(ctx)
        if not ctx.device.cancel(job):
            raise IppError(
                Status.CLIENT_ERROR_NOT_POSSIBLE,
                f"job {job.id} is already {job.state.name.lower()}",
            )

    def _cancel_my_jobs(self, ctx: _Ctx) -> None:
        self._target_printer(ctx)
        op = ctx.req.operation_attributes
        user = _string(op.get("requesting-user-name"), NAME_TAGS, "requesting-user-name")
        for job in list(ctx.device.jobs.values()):
            if user is None or job.user == user:
                ctx.device.cancel(job)

    def _identify_printer(self, ctx: _Ctx) -> None:
        self._target_printer(ctx)
        ctx.device.record("identify")

    def _get_job_attributes(self, ctx: _Ctx) -> None:
        job = self._target_job(ctx)
        requested = self._requested(ctx)
        self._job_group(ctx, job, requested or {"all"})

    def _get_jobs(self, ctx: _Ctx) -> None:
        self._target_printer(ctx)
        op = ctx.req.operation_attributes
        which = _string(op.get("which-jobs"), (ValueTag.KEYWORD,), "which-jobs") or "not-completed"
        if which not in ("completed", "not-completed", "all"):
            raise IppError(
                Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                f"which-jobs {which!r}",
                [op.get("which-jobs")],
            )
        limit = _integer(op.get("limit"), "limit")
        my_jobs = op.get("my-jobs")
        user = _string(op.get("requesting-user-name"), NAME_TAGS, "requesting-user-name")
        requested = self._requested(ctx) or {"job-id", "job-uri"}
        jobs = sorted(ctx.device.jobs.values(), key=lambda j: j.id, reverse=True)
        if which != "all":  # completed jobs are the terminal ones
            jobs = [j for j in jobs if j.terminal == (which == "completed")]
        if my_jobs is not None and my_jobs.value is True and user is not None:
            jobs = [j for j in jobs if j.user == user]
        if limit is not None and limit > 0:
            jobs = jobs[:limit]
        for job in jobs:
            self._job_group(ctx, job, requested)

    def _job_group(self, ctx: _Ctx, job: Job, requested: set[str] | None = None) -> None:
        if requested is None:
            requested = {
                "job-id",
                "job-uri",
                "job-state",
                "job-state-reasons",
                "job-state-message",
            }
        everything = bool(requested & {"all", "job-description", "job-template"})
        group = ctx.resp.add_group(GroupTag.JOB)
        dev = ctx.device
        uri = f"{ctx.printer_uri}/{job.id}"

        values: dict[str, tuple[int, list[object]]] = {
            "job-id": (ValueTag.INTEGER, [job.id]),
            "job-uri": (ValueTag.URI, [uri]),
            "job-printer-uri": (ValueTag.URI, [ctx.printer_uri]),
            "job-name": (ValueTag.NAME, [job.name]),
            "job-originating-user-name": (ValueTag.NAME, [job.user]),
            "job-state": (ValueTag.ENUM, [int(job.state)]),
            "job-state-reasons": (ValueTag.KEYWORD, list(job.reasons) or ["none"]),
            "job-state-message": (ValueTag.TEXT, [job.message or job.state.name.lower()]),
            "job-printer-up-time": (ValueTag.INTEGER, [dev.up_time()]),
            "number-of-documents": (ValueTag.INTEGER, [1 if job.document_size else 0]),
            "job-k-octets": (ValueTag.INTEGER, [(job.document_size + 1023) // 1024]),
            "job-impressions-completed": (ValueTag.INTEGER, [job.impressions_done]),
            "job-media-sheets-completed": (ValueTag.INTEGER, [job.sheets_done]),
            "document-format": (ValueTag.MIME_MEDIA_TYPE, [job.document_format]),
            "copies": (ValueTag.INTEGER, [job.copies]),
            "sides": (ValueTag.KEYWORD, [job.sides]),
            "media": (ValueTag.KEYWORD, [job.media]),
        }
        stamps: dict[str, tuple[int, int | datetime | None]] = {
            "time-at-creation": (ValueTag.INTEGER, dev.up_time_at(job.created_s)),
            "time-at-processing": (ValueTag.INTEGER, dev.up_time_at(job.processing_s)),
            "time-at-completed": (ValueTag.INTEGER, dev.up_time_at(job.completed_s)),
            "date-time-at-creation": (ValueTag.DATE_TIME, job.created_at),
            "date-time-at-processing": (ValueTag.DATE_TIME, job.processing_at),
            "date-time-at-completed": (ValueTag.DATE_TIME, job.completed_at),
        }
        for key, (tag, stamp) in stamps.items():
            values[key] = (ValueTag.NO_VALUE, [None]) if stamp is None else (tag, [stamp])
        if job.pages is not None:
            values["konbini-job-pages"] = (ValueTag.INTEGER, [job.pages])
        if job.sheets_total is not None:
            values["job-media-sheets"] = (ValueTag.INTEGER, [job.sheets_total])
            values["job-impressions"] = (ValueTag.INTEGER, [(job.pages or 0) * job.copies])
        for name, (tag, vals) in values.items():
            if everything or name in requested:
                group.add(name, tag, *vals)  # type: ignore[arg-type]

    def _get_printer_attributes(self, ctx: _Ctx) -> None:
        self._target_printer(ctx)
        op = ctx.req.operation_attributes
        fmt_attr = op.get("document-format")
        _string(fmt_attr, (ValueTag.MIME_MEDIA_TYPE,), "document-format")
        requested = self._requested(ctx) or {"all"}
        attrs = printer_attributes(
            ctx.device,
            base_uri=self.base_uri,
            http_base=self.http_base,
            printer_uuid=self.uuids[ctx.device.profile.resource],
            operations=self._handlers(),
        )
        wanted_all = bool(requested & {"all", "printer-description"})
        group = ctx.resp.add_group(GroupTag.PRINTER)
        for attr in attrs:
            if attr.name in requested:
                group.attributes.append(attr)
            elif attr.name == "media-col-database":
                continue  # only on request, as RFC 8011 intends for large attributes
            elif wanted_all or ("job-template" in requested and _is_template(attr.name)):
                group.attributes.append(attr)


#: Job attributes that ask for scaling or fitting the page to the medium (PWG 5100.13
#: print-scaling; the CUPS fit-to-page, scaling, natural-scaling): recorded per job.
SCALING_ATTRIBUTES = ("print-scaling", "fit-to-page", "scaling", "natural-scaling")


def _plain(value: object) -> object:
    """An attribute value as evidence can hold it (JSON: bool, int, str)."""
    return value if isinstance(value, bool | int | str) else str(value)


_SHORT_TAGS = (ValueTag.NAME, ValueTag.KEYWORD, ValueTag.CHARSET, ValueTag.NATURAL_LANGUAGE)


def _too_long(attr: Attribute) -> bool:
    """RFC 8011 limits: name and keyword 255 octets, text and uri 1023."""
    for tv in attr.values:
        value = tv.value
        if isinstance(value, StringWithLanguage):
            value = value.text
        if isinstance(value, str | bytes):
            size = len(value.encode() if isinstance(value, str) else value)
            if size > (255 if tv.tag in _SHORT_TAGS else 1023):
                return True
    return False


def _is_template(name: str) -> bool:
    return any(name.startswith(t) for t in JOB_TEMPLATE)


def _media_from_col(value: object, supported: tuple[str, ...]) -> str | None:
    """The supported media a media-col asks for (by size name or by dimensions), if any."""
    if not isinstance(value, Collection):
        return None
    name = value.get("media-size-name")
    if name is not None and name.value in supported:
        return str(name.value)
    size = value.get("media-size")
    if size is None or not isinstance(size.value, Collection):
        return None
    x = size.value.get("x-dimension")
    y = size.value.get("y-dimension")
    for media in supported:
        mx, my = media_dims(media)
        if x is not None and y is not None and (x.value, y.value) == (mx, my):
            return media
    return None


def _decompress(data: bytes, compression: str) -> bytes:
    limit = MAX_DOCUMENT_BYTES
    if compression == "none":
        return data
    wbits = 31 if compression == "gzip" else -15
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise ValueError(f"the document inflates past {limit} bytes")
        if not inflater.eof:
            raise ValueError(f"truncated {compression} data")
        return out
    except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
        raise ValueError(f"bad {compression} data: {exc}") from exc


def _op_name(code: int) -> str:
    try:
        return Operation(code).name.lower().replace("_", "-")
    except ValueError:
        return f"0x{code:04x}"


def _split_uri(uri: str, attr: Attribute | None) -> SplitResult:
    """urlsplit, with an unparseable URI (e.g. 'ipp://[27.0.0.1/x') as a client error."""
    try:
        return urlsplit(uri)
    except ValueError as exc:
        raise IppError(
            Status.CLIENT_ERROR_BAD_REQUEST, f"malformed URI {uri!r}: {exc}", [attr]
        ) from exc
