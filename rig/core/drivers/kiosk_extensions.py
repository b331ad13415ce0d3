"""The rig's side of the robot protocol's optional extensions (docs/kiosk-adapter.md).

A kiosk declares them in `GET /info` (`extensions`); `KioskExtensionsClient` uses them:

- test-mode time: `advance(seconds)` asks the kiosk to jump its clock (`POST /time`) and
  checks with `GET /time` that it did;
- configuration: `configure(centre_url=..., trust_anchor_pem=...)` (`POST /config`) and
  `restart(part)` (`POST /restart`);
- event log: `events(since)` (`GET /events`), the kiosk's own log, checked to be in order;
- storage: `stored()` (`GET /storage`), every file the kiosk keeps, content decoded.

A kiosk that declared an extension and then misbehaves (an error, an answer that is not the
protocol's, a clock that did not move) fails the scenario with `ExtensionError`, whose message
names the route, what was sent and what came back; the run goes on with the next scenario.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from rig.core.protocols.robot import (
    AdvanceTime,
    KioskEvent,
    KioskEvents,
    KioskExtensions,
    KioskSettings,
    KioskSettingsView,
    KioskStorage,
    KioskTime,
    Restart,
    RestartPart,
    ScreenView,
)

_M = TypeVar("_M", bound=BaseModel)
#: how far short of the asked advance a kiosk's clock may land (rounding of its time stamps)
ADVANCE_TOLERANCE_S = 0.5
_SHOWN = 300  # characters of a wrong answer quoted in a failure


class ExtensionError(AssertionError):
    """A declared extension misbehaved: a failure of the kiosk (or server) under test."""


def extension_call(
    http: httpx.Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    model: type[_M],
    *,
    route: str | None = None,
    params: dict[str, str] | None = None,
) -> _M:
    """One request to a declared extension (a kiosk's or an issuance server's); the parsed
    answer, or `ExtensionError` naming the route (`route`, else method, path and body) and
    the answer."""
    if route is None:
        shown = str(body) if body is not None else ""
        route = f"{method} {path}" + (
            f" {shown[:120]}{'…' if len(shown) > 120 else ''}" if shown else ""
        )
    try:
        answer = http.request(method, path, json=body, params=params)
    except httpx.HTTPError as exc:
        raise ExtensionError(f"{route}: no answer ({type(exc).__name__}: {exc})") from None
    text = answer.text[:_SHOWN]
    if answer.is_error:
        raise ExtensionError(f"{route}: answered {answer.status_code}: {text}")
    try:
        return model.model_validate_json(answer.content)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise ExtensionError(
            f"{route}: answered {answer.status_code} with what is not a {model.__name__}: "
            f"{text!r} ({problems})"
        ) from None


def _instant(route: str, value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ExtensionError(f"{route}: kiosk_time {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise ExtensionError(f"{route}: kiosk_time {value!r} has no time zone")
    return when


class KioskExtensionsClient:
    """The optional routes of one kiosk, as its `/info` declares them."""

    def __init__(self, http: httpx.Client, declared: KioskExtensions):
        self.http = http
        self.declared = declared

    # -- what the kiosk declares -------------------------------------------------------------
    @property
    def has_time(self) -> bool:
        return self.declared.time is not None

    @property
    def has_events(self) -> bool:
        return self.declared.events is not None

    # -- test-mode time ----------------------------------------------------------------------
    def now(self) -> KioskTime:
        return extension_call(self.http, "GET", "/time", None, KioskTime)

    def advance(self, seconds: float) -> KioskTime:
        """Jump the kiosk's clock by `seconds`, in steps no longer than it accepts."""
        assert self.declared.time is not None, "the kiosk declares no test-mode time"
        step = self.declared.time.max_advance_s
        before = self.now()
        left = float(seconds)
        after = before
        while left > 0:
            chunk = min(left, step)
            body = AdvanceTime(advance_s=chunk).model_dump()
            after = extension_call(self.http, "POST", "/time", body, KioskTime)
            left -= chunk
        start = _instant("GET /time", before.kiosk_time)
        end = _instant("POST /time", after.kiosk_time)
        moved = (end - start).total_seconds()
        if moved < seconds - ADVANCE_TOLERANCE_S:
            raise ExtensionError(
                f"POST /time {{'advance_s': {seconds:g}}}: the kiosk's clock moved {moved:g} s "
                f"(kiosk_time {before.kiosk_time} → {after.kiosk_time}), not {seconds:g} s"
            )
        return after

    # -- configuration -----------------------------------------------------------------------
    def settings(self) -> KioskSettingsView:
        return extension_call(self.http, "GET", "/config", None, KioskSettingsView)

    def configure(self, **settings: str | None) -> KioskSettingsView:
        body = KioskSettings(**settings).model_dump(exclude_unset=True)
        view = extension_call(self.http, "POST", "/config", body, KioskSettingsView)
        wanted = settings.get("centre_url")
        if wanted is not None and view.centre_url != wanted:
            raise ExtensionError(
                f"POST /config: asked for centre_url {wanted}, the kiosk answered {view.centre_url}"
            )
        if settings.get("trust_anchor_pem") is not None and not view.trust_anchor_sha256:
            raise ExtensionError("POST /config: a trust anchor was sent, the kiosk lists none")
        return view

    def restart(self, part: RestartPart) -> ScreenView:
        return extension_call(
            self.http, "POST", "/restart", Restart(part=part).model_dump(), ScreenView
        )

    # -- event log and storage ---------------------------------------------------------------
    def events(self, since: int = 0) -> list[KioskEvent]:
        """The kiosk's log entries after `since`, checked to be numbered in order."""
        route = f"GET /events?since={since}"
        answer = extension_call(self.http, "GET", f"/events?since={since}", None, KioskEvents)
        seqs = [e.seq for e in answer.entries]
        if any(s <= since for s in seqs) or seqs != sorted(set(seqs)):
            raise ExtensionError(
                f"{route}: entries numbered {seqs[:20]}, not increasing after {since}"
            )
        return answer.entries

    def stored(self) -> dict[str, bytes]:
        """Every file the kiosk keeps: path → content."""
        answer = extension_call(self.http, "GET", "/storage", None, KioskStorage)
        files: dict[str, bytes] = {}
        for stored in answer.files:
            try:
                content = base64.b64decode(stored.content_b64, validate=True)
            except (binascii.Error, ValueError):
                raise ExtensionError(
                    f"GET /storage: {stored.path}: content_b64 is not base64"
                ) from None
            if len(content) != stored.size:
                raise ExtensionError(
                    f"GET /storage: {stored.path}: size {stored.size}, content {len(content)} bytes"
                )
            files[stored.path] = content
        if answer.truncated:
            raise ExtensionError(
                f"GET /storage: truncated after {len(files)} files: the rig cannot search "
                "what the kiosk did not send"
            )
        return files


__all__ = ["ADVANCE_TOLERANCE_S", "ExtensionError", "KioskExtensionsClient"]
