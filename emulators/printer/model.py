"""The print engine (印刷エンジン): jobs, paper path, faults' effects, captured sheets.

One engine thread per printer takes jobs in order, renders each document with Ghostscript,
pairs pages into sheets and feeds them one by one. Before every sheet it checks what a real
engine checks: paper in the input tray, no jam, door closed, online. While any of those
blocks it, the job is `processing-stopped` and the printer `stopped`; the job resumes on the
same sheet as soon as the condition clears (a refill, clearing the jam, closing the door).

The engine never keeps a document after its job ends (証明書データの不保持): what remains is
the captured raster of each side, in the run's capture folder, until `purge()`. Those files
are written by a writer thread after the sheet is delivered (an 8.7 MB side costs ~12 ms
that the job's completion need not wait for); everything that reads or deletes them
(`take_sheets`, `retained`, `purge`, `wait_idle`, `stop`) waits for the writes first.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from emulators.printer.profiles import Profile
from emulators.printer.render import RenderedPage, RenderError, page_texts, render_pdf, write_pgm
from emulators.printer.sheets import OutputTray, Sheet, Side, measure, pair_pages
from rig.core.clock import RigClock
from rig.core.evidence import EvidenceStore
from rig.core.protocols.ipp import JobState, PrinterState

Renderer = Callable[[bytes, int], list[RenderedPage]]

#: How long a reader of the captures waits for one pending capture write.
CAPTURE_WRITE_TIMEOUT_S = 30.0

_WRITER: tuple[int, ThreadPoolExecutor] | None = None
_WRITER_LOCK = threading.Lock()


def _capture_writer() -> ThreadPoolExecutor:
    """One capture-writing thread per process (a forked child makes its own)."""
    global _WRITER
    with _WRITER_LOCK:
        if _WRITER is None or _WRITER[0] != os.getpid():
            _WRITER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="printer-capture"))
        return _WRITER[1]


#: printer-state-reasons keywords this printer reports
MEDIA_EMPTY = "media-empty"
MEDIA_NEEDED = "media-needed"
MEDIA_JAM = "media-jam"
DOOR_OPEN = "door-open"
TONER_LOW = "toner-low"
OFFLINE = "offline-report"
#: vendor keyword: sheets are waiting in the output tray (取り忘れ)
SHEETS_IN_TRAY = "konbini-sheets-in-output-tray-report"


@dataclass
class Job:
    id: int
    name: str
    user: str
    document_format: str
    sides: str
    media: str
    copies: int
    created_s: float
    created_at: datetime
    state: JobState = JobState.PENDING
    reasons: list[str] = field(default_factory=lambda: ["job-incoming"])
    message: str = ""
    document: bytes | None = None
    document_size: int = 0
    processing_s: float | None = None
    processing_at: datetime | None = None
    completed_s: float | None = None
    completed_at: datetime | None = None
    pages: int | None = None
    sheets_total: int | None = None
    sheets_done: int = 0
    impressions_done: int = 0
    cancel_requested: bool = False
    sheet_serials: list[int] = field(default_factory=list)
    #: SHA-256 (hex) of the document as received, after any transfer compression
    document_sha256: str | None = None
    #: the scaling / fit attributes the client sent (print-scaling, fit-to-page, ...), as
    #: sent, whether supported or not; the engine itself never scales a page
    scaling_requested: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    def summary(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "state": self.state.name.lower().replace("_", "-"),
            "reasons": list(self.reasons),
            "message": self.message,
            "sides": self.sides,
            "media": self.media,
            "copies": self.copies,
            "pages": self.pages,
            "sheets": self.sheets_done,
            "impressions": self.impressions_done,
            "document_bytes": self.document_size,
            "document_sha256": self.document_sha256,
            "scaling_requested": dict(self.scaling_requested),
        }


@dataclass(frozen=True)
class RetentionReport:
    """What the printer keeps of printed documents: captured rasters and evidence images."""

    files: tuple[Path, ...]
    total_bytes: int


class PrinterDevice:
    """One virtual printer: its queue, engine thread, trays, conditions and captures."""

    def __init__(
        self,
        profile: Profile,
        clock: RigClock,
        evidence: EvidenceStore | None,
        capture_dir: Path,
        *,
        dpi: int = 300,
        png_evidence: bool = False,
        renderer: Renderer = render_pdf,
    ):
        self.profile = profile
        self.clock = clock
        self.evidence = evidence
        self.capture_dir = Path(capture_dir) / profile.name
        self.dpi = dpi
        self.png_evidence = png_evidence
        self._renderer = renderer
        self.tray = OutputTray()
        self.jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._serials = itertools.count(1)
        # None wakes the engine at stop (it would otherwise wait out its poll)
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._attachments: list[Path] = []
        self._pending_captures: list[Future[None]] = []
        self._captures_lock = threading.Lock()
        self.boot_s = clock.seconds()
        self.state_change_s = self.boot_s
        self.config_change_s = self.boot_s
        # the paper path
        self.paper_level = profile.paper_capacity
        self.jam_on_sheet: int | None = None  # feeds left until a jam, 1 = the next sheet
        self.jammed = False
        self.door_open = False
        self.offline = False
        self.toner_low = False
        self._active: Job | None = None

    # -- life --------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name=f"printer-{self.profile.name}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush_captures()

    def flush_captures(self) -> None:
        """Wait until every delivered side's raster is in its capture file."""
        with self._captures_lock:
            pending, self._pending_captures = self._pending_captures, []
        for write in pending:
            try:
                write.result(timeout=CAPTURE_WRITE_TIMEOUT_S)
            except Exception as exc:  # a lost capture is recorded; the sheet was delivered
                self.record("capture-failed", error=repr(exc)[:200])

    # -- evidence ----------------------------------------------------------------------------
    def record(self, event: str, **data: Any) -> None:
        if self.evidence is not None:
            self.evidence.record(f"printer-{self.profile.name}", event, **data)

    # -- state -------------------------------------------------------------------------------
    def up_time(self) -> int:
        """printer-up-time: seconds on the rig clock since start, never 0."""
        return int(self.clock.seconds() - self.boot_s) + 1

    def up_time_at(self, seconds: float | None) -> int | None:
        return None if seconds is None else int(seconds - self.boot_s) + 1

    def _touch(self) -> None:
        self.state_change_s = self.clock.seconds()

    def _blockers(self) -> list[str]:
        reasons = [MEDIA_EMPTY, MEDIA_NEEDED] if self.paper_level <= 0 else []
        stops = ((MEDIA_JAM, self.jammed), (DOOR_OPEN, self.door_open), (OFFLINE, self.offline))
        return reasons + [reason for reason, on in stops if on]

    def state_reasons(self) -> list[str]:
        with self._cv:
            reasons = self._blockers()
            if self.toner_low:
                reasons.append(TONER_LOW)
            if not self.tray.is_empty():
                reasons.append(SHEETS_IN_TRAY)
            return reasons or ["none"]

    def state(self) -> PrinterState:
        with self._cv:
            if self.jammed or self.door_open or self.offline:
                return PrinterState.STOPPED
            active = self._active
            if active is not None:
                if active.state == JobState.PROCESSING_STOPPED:
                    return PrinterState.STOPPED
                return PrinterState.PROCESSING
            if any(not j.terminal and j.document is not None for j in self.jobs.values()):
                return PrinterState.PROCESSING
            return PrinterState.IDLE

    def state_message(self) -> str:
        blockers = self._blockers()
        if blockers:
            return "Stopped: " + ", ".join(blockers)
        return {
            PrinterState.IDLE: "Idle",
            PrinterState.PROCESSING: "Printing",
            PrinterState.STOPPED: "Stopped",
        }[self.state()]

    def queued_job_count(self) -> int:
        return sum(1 for j in self.jobs.values() if not j.terminal)

    # -- jobs --------------------------------------------------------------------------------
    def create_job(
        self,
        *,
        name: str,
        user: str,
        document_format: str,
        sides: str,
        media: str,
        copies: int,
        scaling_requested: dict[str, Any] | None = None,
    ) -> Job:
        with self._cv:
            job = Job(
                id=next(self._ids),
                name=name,
                user=user,
                document_format=document_format,
                sides=sides,
                media=media,
                copies=copies,
                created_s=self.clock.seconds(),
                created_at=self.clock.now(),
                scaling_requested=dict(scaling_requested or {}),
            )
            self.jobs[job.id] = job
        self.record("job-created", **job.summary())
        return job

    def add_document(self, job: Job, document: bytes) -> None:
        """Queue `job` for printing with its (decompressed) document."""
        digest = hashlib.sha256(document).hexdigest()
        with self._cv:
            job.document = document
            job.document_size = len(document)
            job.document_sha256 = digest
            job.reasons = ["job-queued"]
            self._touch()
        self.record(
            "job-queued", job_id=job.id, document_bytes=len(document), document_sha256=digest
        )
        self._queue.put(job)

    def expire_if_empty(self, job: Job) -> None:
        """multiple-operation-time-out: a Create-Job whose document never came is aborted."""
        with self._cv:
            if job.terminal or job.document is not None or job.document_size:
                return
            self._finish(
                job,
                JobState.ABORTED,
                ["aborted-by-system", "job-data-insufficient"],
                "no document within multiple-operation-time-out",
            )

    def abort(self, job: Job, reason: str, message: str) -> None:
        with self._cv:
            self._finish(job, JobState.ABORTED, ["aborted-by-system", reason], message)

    def cancel(self, job: Job, reason: str = "job-canceled-by-user") -> bool:
        """Cancel a job; False if it already ended (the caller answers not-possible)."""
        with self._cv:
            if job.terminal:
                return False
            if job is self._active:
                job.cancel_requested = True
                job.reasons = [reason, "processing-to-stop-point"]
                self._cv.notify_all()
            else:
                self._finish(job, JobState.CANCELED, [reason], "Canceled")
        self.record("job-cancel-requested", job_id=job.id, reason=reason)
        return True

    def _finish(self, job: Job, state: JobState, reasons: list[str], message: str) -> None:
        job.state = state
        job.reasons = reasons
        job.message = message
        job.completed_s = self.clock.seconds()
        job.completed_at = self.clock.now()
        job.document = None  # never keep certificate data after the job (不保持)
        self._touch()
        self._cv.notify_all()
        self.record("job-ended", **job.summary())

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every job has ended or is blocked by a fault (for scenarios, tests)."""
        with self._cv:
            idle = self._cv.wait_for(
                lambda: all(
                    j.terminal or j.state == JobState.PROCESSING_STOPPED or j.document is None
                    for j in self.jobs.values()
                ),
                timeout,
            )
        self.flush_captures()
        return idle

    def wait_for_job(self, job_id: int, states: set[JobState], timeout: float = 30.0) -> Job:
        with self._cv:
            self._cv.wait_for(lambda: self.jobs[job_id].state in states, timeout)
            return self.jobs[job_id]

    # -- conditions (faults call these) ------------------------------------------------------
    def _change(self, event: str, **data: Any) -> None:
        with self._cv:
            for key, value in data.items():
                setattr(self, key, value)
            self._touch()
            self._cv.notify_all()
        self.record(event, **data)

    def set_paper(self, sheets: int) -> None:
        self._change("paper-level", paper_level=max(0, sheets))

    def refill(self, sheets: int | None = None) -> None:
        self._change(
            "refill", paper_level=self.profile.paper_capacity if sheets is None else sheets
        )

    def arm_jam(self, on_sheet: int) -> None:
        if on_sheet < 1:
            raise ValueError("a jam happens on sheet 1 (the next one) or later")
        self._change("jam-armed", jam_on_sheet=on_sheet)

    def clear_jam(self) -> None:
        self._change("jam-cleared", jammed=False)

    def set_door_open(self, is_open: bool) -> None:
        self._change("door", door_open=is_open)

    def set_offline(self, offline: bool) -> None:
        self._change("offline", offline=offline)

    def set_toner_low(self, low: bool) -> None:
        self._change("toner", toner_low=low)

    def take_sheets(self) -> list[Sheet]:
        """The customer takes everything in the output tray."""
        self.flush_captures()
        sheets = self.tray.take()
        with self._cv:
            self._touch()
        self.record("tray-taken", sheets=[s.serial for s in sheets])
        return sheets

    # -- the engine --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cv:
                if self._stopping:
                    return
            try:
                job = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if job is None:
                continue  # the wake-up of stop(): the loop's head returns
            try:
                self._process(job)
            except Exception as exc:  # the engine must survive anything one job does
                with self._cv:
                    if not job.terminal:
                        self._finish(job, JobState.ABORTED, ["aborted-by-system"], repr(exc)[:200])
            finally:
                with self._cv:
                    self._active = None
                    self._touch()
                    self._cv.notify_all()

    def _process(self, job: Job) -> None:
        with self._cv:
            if job.terminal or job.document is None:
                return
            self._active = job
            job.state = JobState.PROCESSING
            job.reasons = ["job-printing"]
            job.processing_s = self.clock.seconds()
            job.processing_at = self.clock.now()
            document = job.document
            self._touch()
        try:
            pages = self._renderer(document, self.dpi)
        except RenderError as exc:
            self.abort(job, exc.reason, str(exc))
            return
        job.pages = len(pages)
        texts = page_texts(document) if self.profile.keeps_text else None
        pairs = pair_pages(pages, job.sides) * job.copies
        job.sheets_total = len(pairs)
        self.record("job-rendered", job_id=job.id, pages=len(pages), sheets=len(pairs))
        for number, (front, back) in enumerate(pairs, start=1):
            if not self._feed(job):
                with self._cv:
                    self._finish(job, JobState.CANCELED, ["job-canceled-by-user"], "Canceled")
                return
            self._deliver(job, number, front, back, texts)
        with self._cv:
            self._finish(job, JobState.COMPLETED, ["job-completed-successfully"], "Completed")

    def _feed(self, job: Job) -> bool:
        """Take one sheet from the input tray; waits out faults. False if the job was canceled."""
        with self._cv:
            while True:
                if job.cancel_requested or self._stopping:
                    return False
                blockers = self._blockers()
                if blockers:
                    if job.state != JobState.PROCESSING_STOPPED:
                        job.state = JobState.PROCESSING_STOPPED
                        job.reasons = ["printer-stopped", *blockers]
                        job.message = "Stopped: " + ", ".join(blockers)
                        self._touch()
                        self._cv.notify_all()
                        self.record("job-stopped", job_id=job.id, reasons=blockers)
                    self._cv.wait(timeout=0.5)
                    continue
                if job.state == JobState.PROCESSING_STOPPED:
                    self.record("job-resumed", job_id=job.id)
                job.state = JobState.PROCESSING
                job.reasons = ["job-printing"]
                job.message = "Printing"
                self.paper_level -= 1
                if self.jam_on_sheet is not None:
                    self.jam_on_sheet -= 1
                    if self.jam_on_sheet == 0:
                        # the sheet is lost in the paper path; after clearing it is printed again
                        self.jam_on_sheet = None
                        self.jammed = True
                        self._touch()
                        self.record("jam", job_id=job.id, sheet=job.sheets_done + 1)
                        continue
                self._touch()
                return True

    def _deliver(
        self,
        job: Job,
        number: int,
        front: RenderedPage,
        back: RenderedPage | None,
        texts: list[str] | None = None,
    ) -> None:
        serial = next(self._serials)
        folder = self.capture_dir / f"job-{job.id:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        sides: list[Side] = []
        for label, page in (("front", front), ("back", back)):
            if page is None:
                continue
            path = folder / f"sheet-{number:03d}-{label}.pgm"
            write = _capture_writer().submit(write_pgm, path, page.pixels)
            with self._captures_lock:
                # written ones are let go (a failed write stays, to be recorded at the flush)
                self._pending_captures = [
                    w for w in self._pending_captures if not w.done() or w.exception() is not None
                ]
                self._pending_captures.append(write)
            side = Side(page.number, page.dpi, page.pixels, measure(page.pixels, page.dpi), path)
            sides.append(side)
            if self.png_evidence and self.evidence is not None:
                name = f"{self.profile.name}-job{job.id}-sheet{number}-{label}.png"
                self._attachments.append(self.evidence.attach(name, _png(side)))
        sheet = Sheet(
            printer=self.profile.name,
            job_id=job.id,
            number=number,
            serial=serial,
            sides=job.sides,
            front=sides[0],
            back=sides[1] if len(sides) > 1 else None,
            delivered_at=self.clock.now(),
        )
        if texts is not None:
            pages = [p.number for p in (front, back) if p is not None]
            sheet.text = "\n".join(texts[n - 1] for n in pages if n <= len(texts))
        sheet.checks = self._check(sheet)
        with self._cv:
            job.sheets_done += 1
            job.impressions_done += len(sides)
            job.sheet_serials.append(serial)
            self.tray.deliver(sheet)
            self._touch()
            self._cv.notify_all()
        self.record("sheet", **sheet.summary())

    def _check(self, sheet: Sheet) -> dict[str, bool]:
        width, height = self.profile.medium_mm
        checks: dict[str, bool] = {}
        sides = [s for s in (sheet.front, sheet.back) if s is not None]

        def fits(side: Side) -> bool:
            m = side.measure
            if abs(m.width_mm - width) > 1.0:
                return False
            if height is None:
                return m.height_mm <= self.profile.max_length_mm + 1.0
            return abs(m.height_mm - height) <= 1.0

        checks["size_ok"] = all(fits(s) for s in sides)
        checks["front_blank"] = sheet.front.measure.blank
        checks["back_blank"] = sheet.back is None or sheet.back.measure.blank
        a5 = [s for s in sides if s.measure.content_fits_a5]
        if a5 and height is not None:
            checks["a5_content_centred"] = all(s.measure.content_centred for s in a5)
        return checks

    # -- retention ---------------------------------------------------------------------------
    def retained(self) -> RetentionReport:
        self.flush_captures()
        files = sorted(p for p in self.capture_dir.rglob("*") if p.is_file())
        files += [p for p in self._attachments if p.exists()]
        return RetentionReport(tuple(files), sum(p.stat().st_size for p in files))

    def purge(self) -> RetentionReport:
        """Delete every capture and evidence image; returns what was deleted."""
        report = self.retained()
        for path in report.files:
            path.unlink(missing_ok=True)
        for folder in sorted(self.capture_dir.rglob("*"), reverse=True):
            if folder.is_dir():
                folder.rmdir()
        self._attachments.clear()
        self.record("purged", files=len(report.files), bytes=report.total_bytes)
        return report


def _png(side: Side) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(side.pixels, mode="L").save(out, format="PNG", dpi=(side.dpi, side.dpi))
    return out.getvalue()
