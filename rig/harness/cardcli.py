"""`rig card insert PROFILE [--reader-index N]`: put a virtual card into a rig reader.

Prints `READER: <reader name>` and the profile's PINs, keeps the card inserted until
interrupted (Ctrl-C, SIGTERM, or `stop` set by a caller), then removes it. The PKI comes from
the run's working folder and world seed, so the OCSP responder and the municipal server of
the same run know the card's certificates and card-AP keys.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from emulators.card import ProfileError, build_card, profile_names
from rig.core.evidence import EvidenceStore
from rig.core.pcsc import PcscStackError, ReaderStack
from rig.core.pki.jpki import JpkiAuthority

DEFAULT_WORK_DIR = Path(os.environ.get("RIG_WORK_DIR", "build/work"))
DEFAULT_SEED = os.environ.get("RIG_SEED", "konbini-rig")

EXIT_OK = 0
EXIT_UNKNOWN_PROFILE = 2
EXIT_NO_READER = 3


def insert_card(
    profile: str,
    reader_index: int | None = None,
    *,
    work_dir: Path = DEFAULT_WORK_DIR,
    seed: str = DEFAULT_SEED,
    out: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    evidence: EvidenceStore | None = None,
    stack: ReaderStack | None = None,
) -> int:
    """Insert `profile` and block until interrupted; returns the process exit code."""
    if profile not in profile_names():
        out(f"ERROR: unknown card profile {profile!r}; known: {', '.join(profile_names())}")
        return EXIT_UNKNOWN_PROFILE
    try:
        authority = JpkiAuthority.load_or_create(work_dir, seed)
        built = build_card(profile, authority, seed=seed, evidence=evidence)
        stack = stack or ReaderStack.shared()
        if reader_index is not None and not 0 <= reader_index < len(stack.readers()):
            out(f"ERROR: reader index {reader_index} out of range 0..{len(stack.readers()) - 1}")
            return EXIT_NO_READER
        slot = stack.acquire(reader_index, timeout=5.0)
    except (ProfileError, PcscStackError) as exc:
        out(f"ERROR: {exc}")
        return EXIT_NO_READER
    stop = stop or threading.Event()
    previous = _install_sigterm(stop)
    try:
        slot.evidence = evidence
        slot.insert(built.card, mute=built.mute)
        out(f"READER: {slot.reader_name}")
        out(f"PROFILE: {profile} ({built.profile.form.value})")
        for label, value in built.pins.items():
            out(f"{label.upper()}: {value}")
        if built.card_ap_info is not None:
            out(f"CARD_AP_USER_ID: {built.card_ap_info.user_id}")
        out("Card inserted; press Ctrl-C to remove it.")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        out("Card removed.")
        return EXIT_OK
    finally:
        slot.release()
        _restore_sigterm(previous)


_Handler = Callable[[int, FrameType | None], object] | int | None


def _install_sigterm(stop: threading.Event) -> _Handler:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())


def _restore_sigterm(previous: _Handler) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)
