"""`rig doctor`: is this machine ready to run the rig? Each check says how to fix what is wrong."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path

FIX_SETUP = "make setup"
JAPANESE_FONTS = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"),
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _binary(name: str, path: str, package: str) -> CheckResult:
    found = shutil.which(path) or (path if Path(path).exists() else None)
    if found:
        return CheckResult(name, True, found)
    return CheckResult(name, False, f"{path} not found", f"{FIX_SETUP}  (Debian package {package})")


def check_pcscd() -> CheckResult:
    from rig.core.pcsc.daemon import PCSCD, VPCD_DRIVER

    for path, package in ((PCSCD, "pcscd"), (VPCD_DRIVER, "vsmartcard-vpcd")):
        if not Path(path).exists():
            fix = f"{FIX_SETUP}  (Debian package {package})"
            return CheckResult("pcscd", False, f"{path} missing", fix)
    return CheckResult("pcscd", True, f"{PCSCD} with the vpcd driver")


def check_readers() -> CheckResult:
    """Bring the stack up, put a loopback card in a reader and exchange one APDU."""
    try:
        from emulators.kiosk.card_reader import CardIOError, CardReader
        from rig.core.pcsc import ReaderStack
        from rig.core.pcsc.loopback import LoopbackCard
    except ImportError as exc:
        return CheckResult("virtual readers", False, f"import failed: {exc}", FIX_SETUP)
    stack = ReaderStack()
    try:
        stack.start()
    except Exception as exc:
        return CheckResult("virtual readers", False, str(exc), "pkill pcscd; rig doctor")
    try:
        slot = stack.acquire(timeout=10)
        reader = CardReader(slot.reader_name)  # the reference kiosk's own reader code
        try:
            slot.insert(LoopbackCard())
            with closing(reader.connect()) as card:
                sw = card.transmit(bytes([0x00, 0xA4, 0x04, 0x00, 0x00])).sw
            if sw != 0x9000:
                return CheckResult(
                    "virtual readers", False, f"APDU failed: SW {sw:04X}", "pkill pcscd"
                )
        except CardIOError as exc:
            return CheckResult("virtual readers", False, str(exc), "pkill pcscd")
        finally:
            reader.close()
            slot.release()
        return CheckResult(
            "virtual readers", True, f"{len(stack.readers())} readers, loopback APDU answered 90 00"
        )
    except Exception as exc:
        return CheckResult("virtual readers", False, repr(exc), "pkill pcscd; rig doctor")
    finally:
        stack.stop()


def check_reader_ports(ephemeral: range | None = None) -> CheckResult:
    """The readers' ports must lie outside the ports the kernel gives outgoing connections:
    one taken there when pcscd starts loses its reader until pcscd restarts."""
    from rig.core.pcsc.daemon import StackConfig, ephemeral_port_range

    ports = StackConfig().ports
    ephemeral = ephemeral if ephemeral is not None else ephemeral_port_range()
    where = f"vpcd ports {ports.start}–{ports.stop - 1}"
    if ephemeral is None or ports.stop <= ephemeral.start or ephemeral.stop <= ports.start:
        return CheckResult("reader ports", True, f"{where}, outside the ephemeral ports")
    return CheckResult(
        "reader ports",
        False,
        f"{where} overlap the ephemeral ports {ephemeral.start}–{ephemeral.stop - 1}",
        f"RIG_VPCD_PORT_BASE={max(1024, ephemeral.start - 2 * len(ports))} (a range below them)",
    )


def check_ghostscript() -> CheckResult:
    try:
        import ghostscript

        rev = ghostscript.revision()
        number = int(rev["revision"])
        version = f"{rev['product']} {number // 1000}.{number % 1000 // 10:02d}"
    except Exception as exc:  # libgs missing raises at import or first use
        return CheckResult(
            "ghostscript",
            False,
            f"libgs not usable: {exc}",
            f"{FIX_SETUP}  (libgs-dev, ghostscript)",
        )
    return CheckResult("ghostscript", True, f"libgs {version}")


def check_fonts() -> CheckResult:
    missing = [str(p) for p in JAPANESE_FONTS if not p.exists()]
    if missing:
        return CheckResult(
            "japanese fonts",
            False,
            "missing " + ", ".join(missing),
            f"{FIX_SETUP}  (fonts-ipaexfont)",
        )
    return CheckResult("japanese fonts", True, "IPAex Gothic and Mincho")


def check_virtualsmartcard() -> CheckResult:
    try:
        from virtualsmartcard.VirtualSmartcard import SmartcardOS  # noqa: F401
    except ImportError as exc:
        return CheckResult(
            "virtualsmartcard", False, str(exc), f"{FIX_SETUP}  (python3-virtualsmartcard)"
        )
    return CheckResult("virtualsmartcard", True, "importable from the venv")


CHECKS: list[Callable[[], CheckResult]] = [
    check_pcscd,
    check_virtualsmartcard,
    check_reader_ports,
    check_readers,
    check_ghostscript,
    check_fonts,
    partial(_binary, "opensc", "pkcs15-tool", "opensc"),
    partial(_binary, "ipptool", "ipptool", "cups-ipp-utils"),
]


def run_checks() -> list[CheckResult]:
    return [check() for check in CHECKS]
