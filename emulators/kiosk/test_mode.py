"""The robot protocol's optional extensions on the reference kiosk run stand-alone (`rig kiosk`).

A kiosk that keeps its own clock makes every inactivity time-out cost real time; one that is
configured once from its kit cannot be pointed at a centre tap or given another trust anchor;
what it logs and keeps never crosses its interfaces.
The extensions (docs/kiosk-adapter.md, "Extensions") lift all three, and `KioskTestMode`
serves them for the reference kiosk:

- test-mode time: `GET /time`, `POST /time {"advance_s": N}` jumps the kiosk's own clock
  forward by N seconds; every time-out due on the way fires before the answer;
- configuration: `GET /config`, `POST /config` (centre URL, trust anchor as PEM), effective at
  `POST /restart {"part": "application"}`; `POST /restart` also power-cycles one device.
  `POST /reset` returns to the installed settings (the kit's);
- event log: `GET /events?since=N`, the kiosk's audit log (its allow-listed fields only);
- storage: `GET /storage`, every file of the kiosk's state folder with its content, so the
  rig can search what a kiosk keeps for a PIN, a My Number or a name.

They are wired in without touching the kiosk's own code: the routes go into the robot
server's routes (`add_routes`), `/info` and `/reset` are wrapped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import BaseModel, ValidationError

from emulators.kiosk.flow import RobotActionError
from emulators.kiosk.launcher import ReferenceKiosk
from rig.core.protocols.robot import (
    AdvanceTime,
    ConfigExtension,
    EventsExtension,
    KioskEvent,
    KioskEvents,
    KioskExtensions,
    KioskInfo,
    KioskSettings,
    KioskSettingsView,
    KioskStorage,
    KioskTime,
    Restart,
    RobotError,
    ScreenView,
    StorageExtension,
    StoredFile,
    TimeExtension,
)

_M = TypeVar("_M", bound=BaseModel)
Handler = Callable[[dict[str, str], bytes], Any]
MAX_ADVANCE_S = 3600.0
MAX_STORED_BYTES = 8 << 20


def _parse(model: type[_M], body: bytes) -> _M:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        # the robot server's own code for it (docs/kiosk-adapter.md), not one of RobotError's
        raise RobotActionError("invalid_json", "the body is not JSON", 400) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise RobotActionError(RobotError.INVALID_REQUEST, where, 422) from None


def _anchors(pem: str) -> list[x509.Certificate]:
    try:
        found = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        found = []
    if not found:
        raise RobotActionError(
            RobotError.INVALID_REQUEST, "trust_anchor_pem: no PEM certificate in it", 422
        )
    return found


class KioskTestMode:
    """Serves the time and configuration extensions for one `ReferenceKiosk`."""

    def __init__(
        self,
        kiosk: ReferenceKiosk,
        *,
        time: bool = True,
        config: bool = True,
        events: bool = True,
        storage: bool = True,
    ):
        self.kiosk = kiosk
        self.time_enabled = time
        self.config_enabled = config
        self.events_enabled = events
        self.storage_enabled = storage
        self.installed = replace(kiosk.config)
        self.advanced_s = 0.0
        self.restart_pending = False
        self._lock = threading.Lock()
        self._anchor_file = kiosk.state_dir / "test-mode" / "trust-anchor.pem"

    def install(self) -> KioskTestMode:
        """Wire the extensions into the kiosk's robot server (before it starts)."""
        robot = self.kiosk.robot
        plain_info, plain_reset = robot.info, robot.on_reset
        assert plain_reset is not None, "the kiosk serves POST /reset"

        def info() -> KioskInfo:
            return plain_info().model_copy(update={"extensions": self.extensions()})

        def reset() -> ScreenView:
            with self._lock:
                self.kiosk.config = replace(self.installed)
                self.restart_pending = False
            return plain_reset()

        robot.info = info
        robot.on_reset = reset
        robot.add_routes(self.routes())
        return self

    def extensions(self) -> KioskExtensions:
        return KioskExtensions(
            time=TimeExtension(max_advance_s=MAX_ADVANCE_S) if self.time_enabled else None,
            config=ConfigExtension(
                settings=["centre_url", "trust_anchor"],
                restart=["application", "card_reader", "cash_unit", "printer"],
            )
            if self.config_enabled
            else None,
            events=EventsExtension() if self.events_enabled else None,
            storage=StorageExtension(max_bytes=MAX_STORED_BYTES) if self.storage_enabled else None,
        )

    def routes(self) -> dict[tuple[str, str], Handler]:
        routes: dict[tuple[str, str], Handler] = {}
        if self.time_enabled:
            routes[("GET", "/time")] = lambda q, b: self.time()
            routes[("POST", "/time")] = lambda q, b: self.advance(_parse(AdvanceTime, b))
        if self.config_enabled:
            routes[("GET", "/config")] = lambda q, b: self.settings()
            routes[("POST", "/config")] = lambda q, b: self.configure(_parse(KioskSettings, b))
            routes[("POST", "/restart")] = lambda q, b: self.restart(_parse(Restart, b))
        if self.events_enabled:
            routes[("GET", "/events")] = lambda q, b: self.events(q)
        if self.storage_enabled:
            routes[("GET", "/storage")] = lambda q, b: self.stored()
        return routes

    # -- event log and storage ---------------------------------------------------------------
    def events(self, query: dict[str, str]) -> KioskEvents:
        raw = query.get("since", "0")
        if not raw.isdigit() or len(raw) > 12:
            raise RobotActionError(
                RobotError.INVALID_REQUEST, "since: a whole number of entries, 0 or more", 422
            )
        since = int(raw)
        entries: list[KioskEvent] = []
        for seq, entry in enumerate(self.kiosk.audit.entries(), start=1):
            if seq <= since:
                continue
            data = {k: v for k, v in entry.items() if k not in ("at", "event")}
            entries.append(KioskEvent(seq=seq, at=entry["at"], event=entry["event"], data=data))
        return KioskEvents(entries=entries)

    def stored(self) -> KioskStorage:
        root = self.kiosk.state_dir
        files: list[StoredFile] = []
        left = MAX_STORED_BYTES
        truncated = False
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            try:
                content = path.read_bytes()
            except OSError:
                continue  # gone between the listing and the read (a spool file printed)
            if len(content) > left:
                truncated = True
                break
            left -= len(content)
            files.append(
                StoredFile(
                    path=path.relative_to(root).as_posix(),
                    size=len(content),
                    content_b64=base64.b64encode(content).decode("ascii"),
                )
            )
        return KioskStorage(files=files, truncated=truncated)

    # -- test-mode time ----------------------------------------------------------------------
    def time(self) -> KioskTime:
        return KioskTime(kiosk_time=self.kiosk.clock.now().isoformat(), advanced_s=self.advanced_s)

    def advance(self, request: AdvanceTime) -> KioskTime:
        if request.advance_s > MAX_ADVANCE_S:
            raise RobotActionError(
                RobotError.INVALID_REQUEST, f"advance_s: at most {MAX_ADVANCE_S:g} at once", 422
            )
        with self._lock:
            self.kiosk.clock.skip(request.advance_s)
            self.advanced_s += request.advance_s
        # the time-outs were queued to the engine as they fell due: a view is a barrier,
        # so the answer comes once the kiosk has reacted to every one of them
        self.kiosk.engine.view()
        self.kiosk.robot.record("time_advanced", seconds=request.advance_s)
        return self.time()

    # -- configuration -----------------------------------------------------------------------
    def settings(self) -> KioskSettingsView:
        config = self.kiosk.config
        anchors = x509.load_pem_x509_certificates(Path(config.server_ca).read_bytes())
        return KioskSettingsView(
            centre_url=config.centre_url,
            trust_anchor_sha256=[
                hashlib.sha256(a.public_bytes(Encoding.DER)).hexdigest() for a in anchors
            ],
            restart_pending=self.restart_pending,
        )

    def configure(self, request: KioskSettings) -> KioskSettingsView:
        chosen = request.model_fields_set
        with self._lock:
            config = self.kiosk.config
            if "centre_url" in chosen:
                url = request.centre_url or self.installed.centre_url
                parts = urlsplit(url)
                if parts.scheme not in ("https", "http") or not parts.hostname:
                    raise RobotActionError(
                        RobotError.INVALID_REQUEST, "centre_url: an http(s) URL with a host", 422
                    )
                config = replace(config, centre_url=url)
            if "trust_anchor_pem" in chosen:
                if request.trust_anchor_pem is None:
                    config = replace(config, server_ca=self.installed.server_ca)
                else:
                    _anchors(request.trust_anchor_pem)
                    self._anchor_file.parent.mkdir(parents=True, exist_ok=True)
                    self._anchor_file.write_text(request.trust_anchor_pem, encoding="ascii")
                    config = replace(config, server_ca=self._anchor_file)
            self.kiosk.config = config
            self.restart_pending = bool(chosen)
        self.kiosk.robot.record("config_changed", settings=sorted(chosen))
        return self.settings()

    def restart(self, request: Restart) -> ScreenView:
        kiosk = self.kiosk
        if request.part == "application":
            # a restart, not a reset: nothing is erased on purpose, the kiosk's own start-up
            # must leave no certificate data behind
            kiosk.engine.stop()
            kiosk._close_devices()
            kiosk._start_engine()
            self.restart_pending = False
        elif request.part in ("card_reader", "cash_unit"):
            device = kiosk.reader if request.part == "card_reader" else kiosk.cash

            def power_cycle(flow: object) -> None:
                # in the engine thread: it alone uses the devices
                device.close()
                device.open()

            kiosk.engine.call(power_cycle)
        # the printer is reached over IPP per job: power-cycling it leaves nothing to reopen
        kiosk.robot.record("restarted", part=request.part)
        return kiosk.engine.view()
