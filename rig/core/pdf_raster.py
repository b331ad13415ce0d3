"""PDF to 8-bit gray rasters with a long-lived Ghostscript interpreter (libgs) per process.

Starting Ghostscript costs about 75–95 ms (resources, fonts, the PostScript prologue), as
much as rendering a simple 300 dpi A4 page. The printer and the centre render on every
issuance, so each process keeps its interpreters: started lazily through the `ghostscript`
PyPI package's low-level API (`_gsprint`: new_instance, init_with_args, run_string, exit,
delete_instance) and reused for document after document.

Safety of reuse:

- Every option that shapes the output (resolution, -dPDFSTOPONERROR…, -dNOINTERPOLATE,
  -dLastPage) is fixed when an interpreter starts; interpreters are pooled per
  `RasterOptions`, so a document never sees another caller's settings.
- Each document goes through the PDF interpreter (`runpdf`), never as PostScript, so a
  document cannot define anything that outlives it (PostScript behind a %PDF- header is a
  syntax error, never run). Between documents only the device's /OutputFile changes, by
  setpagedevice, which closes the device's output and opens the new file.
- After ANY error from libgs, or a render that overran its deadline, the interpreter is
  exited and thrown away; the next document gets a fresh one. An interpreter is also
  replaced after `RECYCLE_AFTER` documents, which bounds the slow growth of its memory.
- -dSAFER with --permit-file-all on the interpreter's own private folder only (under
  /dev/shm when there is one: the rasters never touch a disk). Ghostscript also permits
  its own temporary folder by default.
- The pool belongs to the process that made it (keyed by os.getpid(), and forgotten in a
  forked child, which must not drive its parent's interpreters); atexit stops it, and so
  does multiprocessing's exit in a worker process (which skips atexit). A process killed
  outright leaves its folder behind (empty unless it died mid-render).

libgs 9.50 and later allow several instances in one process (Debian's 10.00 does); at most
`MAX_INTERPRETERS` render at once, so the centre and the printer in one process do not wait
for each other. Ghostscript cannot be interrupted here (this build never calls the poll
callback), so a deadline is checked after the render returns; what bounds a render is the
caller's input checks and page cap (-dLastPage) and the PDF interpreter itself, which has no
loops a document can drive.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import itertools
import multiprocessing.util
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rig.core.side_by_side import map_side_by_side

#: At most this many interpreters render at once in one process (the rig runs on 2 cores).
MAX_INTERPRETERS = 4
#: Idle interpreters kept for reuse, over all option sets.
MAX_IDLE = 4
#: An interpreter is replaced after this many documents (its memory grows a little each).
RECYCLE_AFTER = 200
#: How long a caller waits for a free interpreter before giving up.
ACQUIRE_TIMEOUT_S = 120.0
#: A log longer than this is cut (a damaged file can make Ghostscript very talkative).
MAX_LOG_BYTES = 64 * 1024

_SHM = Path("/dev/shm")


class GhostscriptFailed(Exception):
    """Ghostscript refused or failed on a document; `log` is what it printed."""

    def __init__(self, message: str, log: str = "", *, timed_out: bool = False):
        super().__init__(message)
        self.log = log
        self.timed_out = timed_out


@dataclass(frozen=True)
class RasterOptions:
    """What shapes the output; interpreters are started with, and pooled by, these."""

    dpi: int = 300
    stop_on_error: bool = False  # -dPDFSTOPONERROR -dPDFSTOPONWARNING: no repaired files
    no_interpolate: bool = False  # -dNOINTERPOLATE
    last_page: int | None = None  # -dLastPage: pages after it are not rendered

    def args(self) -> list[str]:
        args = ["-q", "-dSAFER", "-dNOPAUSE"]
        if self.stop_on_error:
            args += ["-dPDFSTOPONERROR", "-dPDFSTOPONWARNING"]
        if self.no_interpolate:
            args.append("-dNOINTERPOLATE")
        if self.last_page is not None:
            args.append(f"-dLastPage={self.last_page}")
        return [*args, "-sDEVICE=pgmraw", f"-r{self.dpi}"]


@dataclass(frozen=True)
class Rendered:
    pages: list[NDArray[np.uint8]]  # one (height, width) array per page, 0 = black
    log: str  # what Ghostscript printed (empty for a clean file with -q)


def summary(log: str) -> str:
    """The line of a Ghostscript log that names the error (its stack dumps help nobody)."""
    for line in log.splitlines():
        if "Error" in line or "error" in line:
            return line.strip()[:200]
    return log.strip().splitlines()[0][:200] if log.strip() else "no message"


def pgm_header(head: bytes) -> tuple[int, int, int]:
    """(width, height, offset of the first pixel) of a binary PGM (P5, maxval 255).

    Raises ValueError for anything else."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4 and pos < len(head):
        if head[pos : pos + 1].isspace():
            pos += 1
        elif head[pos : pos + 1] == b"#":
            end = head.find(b"\n", pos)
            pos = len(head) if end < 0 else end + 1
        else:
            end = pos
            while end < len(head) and not head[end : end + 1].isspace():
                end += 1
            fields.append(head[pos:end])
            pos = end
    if len(fields) < 4 or fields[0] != b"P5" or fields[3] != b"255":
        raise ValueError("not a binary 8-bit PGM")
    if not (fields[1].isdigit() and fields[2].isdigit()):
        raise ValueError("PGM size is not a number")
    return int(fields[1]), int(fields[2]), pos + 1  # exactly one whitespace byte follows


def read_pgm_file(path: Path) -> NDArray[np.uint8]:
    """A binary PGM as Ghostscript's pgmraw device writes it, read straight into an array."""
    with path.open("rb") as fh:
        try:
            width, height, offset = pgm_header(fh.read(256))
        except ValueError as exc:
            raise GhostscriptFailed(f"unexpected raster format from Ghostscript: {exc}") from exc
        fh.seek(offset)
        pixels = np.fromfile(fh, dtype=np.uint8, count=width * height)
    if pixels.size != width * height:
        raise GhostscriptFailed("truncated raster from Ghostscript")
    return pixels.reshape(height, width)


def _ps_string(text: str) -> str:
    """A PostScript hex string: no escaping questions whatever the path holds."""
    return "<" + text.encode().hex() + ">"


def _page_number(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


class Interpreter:
    """One libgs instance, its private folder and its captured output.

    The pool owns its interpreters; whoever starts one directly must `close()` it."""

    def __init__(self, options: RasterOptions, folder: Path):
        try:  # libgs is loaded on first use only
            from ghostscript import _gsprint as gs
        except (ImportError, RuntimeError, OSError) as exc:
            raise GhostscriptFailed(f"libgs not found ({exc}): Debian package libgs-dev") from exc
        self._gs: Any = gs
        self.options = options
        self.folder = folder
        self.documents = 0
        self._serial = itertools.count(1)
        self._log = bytearray()
        # ctypes callbacks must outlive the instance: kept as attributes
        self._stdin = gs.c_stdstream_call_t(lambda _i, _buf, _n: 0)  # always end of file
        self._stdout = gs.c_stdstream_call_t(self._capture)
        self._instance: Any = None
        try:
            self._instance = gs.new_instance()
            gs.set_arg_encoding(self._instance, gs.ARG_ENCODING_UTF8)
            gs.set_stdio(self._instance, self._stdin, self._stdout, self._stdout)
            argv = ["gs", *options.args(), f"--permit-file-all={folder}/"]
            gs.init_with_args(self._instance, [a.encode() for a in argv])
        except gs.GhostscriptError as exc:
            self.close()
            raise GhostscriptFailed(f"Ghostscript did not start: {exc}", self.log()) from exc

    def _capture(self, _instance: object, text: Any, count: int) -> int:
        if len(self._log) < MAX_LOG_BYTES:
            self._log += ctypes.string_at(text, min(count, MAX_LOG_BYTES - len(self._log)))
        return count

    def log(self) -> str:
        return self._log.decode("utf-8", "replace")

    def render(self, pdf: bytes, pages: tuple[int, int | None] | None = None) -> Rendered:
        """Render `pdf`, or only its pages `pages` (first, last: 1-based, inclusive; a last
        past the document's end, or None, is its last page); GhostscriptFailed leaves this
        interpreter unfit for reuse."""
        n = next(self._serial)
        self.documents += 1
        self._log.clear()
        source = self.folder / f"in-{n}.pdf"
        pattern = f"out-{n}-"
        # runpdf, or the page loop it runs (pdf_main.ps documents both for callers), up to
        # the page count Ghostscript itself reads from the file
        run = "runpdf"
        if pages is not None:
            first, last = pages
            upto = (
                "pdfpagecount"
                if last is None
                else f"{last:d} pdfpagecount 2 copy gt {{exch}} if pop"
            )
            run = f"runpdfbegin {first:d} {upto} dopdfpages runpdfend"
        try:
            source.write_bytes(pdf)
            program = (
                f"<< /OutputFile {_ps_string(f'{self.folder}/{pattern}%d.pgm')} >> setpagedevice "
                f"{_ps_string(str(source))} (r) file {run}\n"
            )
            try:
                self._gs.run_string(self._instance, program.encode())
            except self._gs.GhostscriptError as exc:
                log = self.log()
                raise GhostscriptFailed(
                    f"Ghostscript could not render it: {summary(log)}", log
                ) from exc
            files = sorted(self.folder.glob(f"{pattern}*.pgm"), key=_page_number)
            return Rendered([read_pgm_file(path) for path in files], self.log())
        finally:
            for path in self.folder.glob(f"{pattern}*.pgm"):
                path.unlink(missing_ok=True)
            source.unlink(missing_ok=True)

    def close(self) -> None:
        instance, self._instance = self._instance, None
        if instance is not None:
            # an interpreter that failed may also fail to exit cleanly; it goes anyway
            with contextlib.suppress(self._gs.GhostscriptError):
                self._gs.exit(instance)
            self._gs.delete_instance(instance)
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class _Pool:
    pid: int = field(default_factory=os.getpid)
    lock: threading.Lock = field(default_factory=threading.Lock)
    slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(MAX_INTERPRETERS)
    )
    idle: list[Interpreter] = field(default_factory=list)
    root: Path | None = None
    started: int = 0  # interpreters started by this pool, for tests and the bench
    closed: bool = False

    def _folder(self) -> Path:
        if self.root is None:
            base = _SHM if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None
            self.root = Path(tempfile.mkdtemp(prefix=f"rig-gs-{self.pid}-", dir=base))
        return Path(tempfile.mkdtemp(prefix="i", dir=self.root))

    def acquire(self, options: RasterOptions) -> Interpreter:
        if not self.slots.acquire(timeout=ACQUIRE_TIMEOUT_S):
            raise GhostscriptFailed(f"no Ghostscript free within {ACQUIRE_TIMEOUT_S:.0f} s")
        return self._take(options)

    def try_acquire(self, options: RasterOptions) -> Interpreter | None:
        """An interpreter if one is free at once, else None (never waits: a caller that
        already holds one must not wait for a second, or callers could hold them all)."""
        if not self.slots.acquire(blocking=False):
            return None
        try:
            return self._take(options)
        except GhostscriptFailed:
            return None

    def _take(self, options: RasterOptions) -> Interpreter:
        """An idle interpreter for `options` or a new one; the caller holds a slot, which
        goes back if none can be had."""
        try:
            with self.lock:
                if self.closed:
                    raise GhostscriptFailed("Ghostscript is stopped (process exiting)")
                for i, interp in enumerate(self.idle):
                    if interp.options == options:
                        return self.idle.pop(i)
                folder = self._folder()
                self.started += 1
            try:
                return Interpreter(options, folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        except BaseException:
            self.slots.release()
            raise

    def release(self, interp: Interpreter, *, reusable: bool) -> None:
        retire: list[Interpreter] = []
        with self.lock:
            if reusable and not self.closed and interp.documents < RECYCLE_AFTER:
                self.idle.append(interp)
                while len(self.idle) > MAX_IDLE:
                    retire.append(self.idle.pop(0))
            else:
                retire.append(interp)
        for old in retire:
            old.close()
        self.slots.release()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            idle, self.idle = self.idle, []
        for interp in idle:
            interp.close()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> _Pool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = _Pool()
            # a multiprocessing worker ends with os._exit, which skips atexit but runs these
            multiprocessing.util.Finalize(_POOL, _close_if_ours, (_POOL,), exitpriority=10)
        return _POOL


def _forget_in_child() -> None:
    # A forked child (a pytest-xdist worker, a Locust process) must neither use nor exit
    # its parent's interpreters nor delete its parent's folder: it starts its own.
    global _POOL, _POOL_LOCK
    _POOL = None
    _POOL_LOCK = threading.Lock()


def _close_if_ours(pool: _Pool | None) -> None:
    # a child forked without multiprocessing inherits the exit hooks: never the parent's pool
    if pool is not None and pool.pid == os.getpid():
        pool.close()


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(lambda: _close_if_ours(_POOL))


def _render_with(
    pool: _Pool,
    interp: Interpreter,
    pdf: bytes,
    pages: tuple[int, int | None] | None,
    deadline_s: float | None,
) -> Rendered:
    """Render on `interp` and give it back to `pool`: for reuse only after a clean render."""
    reusable = False
    try:
        started = time.monotonic()
        rendered = interp.render(pdf, pages)
        elapsed = time.monotonic() - started
        if deadline_s is not None and elapsed > deadline_s:
            raise GhostscriptFailed(
                f"Ghostscript took longer than {deadline_s:.0f} s", rendered.log, timed_out=True
            )
        reusable = True
        return rendered
    finally:
        pool.release(interp, reusable=reusable)


def _in_two_halves(
    pool: _Pool,
    first: Interpreter,
    second: Interpreter,
    pdf: bytes,
    page_count: int,
    deadline_s: float | None,
) -> Rendered:
    """Pages 1..k on `first` and the rest on `second`, side by side. Both halves stop at
    the page count Ghostscript reads, and the second runs to the end (or the cap): a
    declared count that is wrong costs speed, never a page."""
    split = (page_count + 1) // 2
    halves: list[tuple[Interpreter, tuple[int, int | None]]] = [
        (first, (1, split)),
        (second, (split + 1, first.options.last_page)),
    ]
    head, tail = map_side_by_side(
        lambda half: _render_with(pool, half[0], pdf, half[1], deadline_s), halves
    )
    return Rendered(head.pages + tail.pages, head.log + tail.log)


def rasterize(
    pdf: bytes,
    options: RasterOptions,
    *,
    deadline_s: float | None = None,
    page_count: int | None = None,
) -> Rendered:
    """Render every page of `pdf` (up to options.last_page) with a pooled interpreter.

    With `page_count` (what the document declares, 2 or more, within last_page) and a
    second interpreter free at once, the two halves of the document render side by side:
    the same pixels in half the time on two cores (a marked certificate of three sheets is
    six 300 dpi pages, about 40 ms each). Raises GhostscriptFailed when libgs reports an
    error, or (timed_out=True) when the render took longer than `deadline_s`; either way
    that interpreter is thrown away. An empty `pages` list is the caller's to judge.
    """
    pool = _pool()
    interp = pool.acquire(options)
    within = options.last_page is None or (page_count or 0) <= options.last_page
    second = pool.try_acquire(options) if (page_count or 0) >= 2 and within else None
    if second is None or page_count is None:
        return _render_with(pool, interp, pdf, None, deadline_s)
    return _in_two_halves(pool, interp, second, pdf, page_count, deadline_s)


def interpreters_started() -> int:
    """How many interpreters this process has started (a fresh one after each failure)."""
    pool = _POOL
    return pool.started if pool is not None and pool.pid == os.getpid() else 0
