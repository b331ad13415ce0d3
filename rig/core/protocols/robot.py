"""The customer-robot protocol (顧客ロボット): what a customer sees and touches on a kiosk.

A small HTTP JSON protocol. The reference kiosk serves it on 127.0.0.1; a vendor's kiosk
adapter serves the same routes on its kiosk (docs/kiosk-adapter.md). Both the server side
(emulators/kiosk) and the client side (rig/core/drivers/robot_client.py) import these models,
so a field renamed here is renamed at both ends.

Routes, relative to the robot base URL (e.g. ``http://127.0.0.1:8700/robot``):

| method | path | body → answer |
|---|---|---|
| GET | ``/info`` | → `KioskInfo` |
| GET | ``/screen`` | query ``after`` (seq) and ``wait`` (s): → `ScreenView` |
| GET | ``/history`` | query ``since`` (seq): → `History` |
| POST | ``/tap`` | `Tap` → `ScreenView` |
| POST | ``/keys`` | `Keys` → `ScreenView` |
| GET | ``/held`` | → `HeldData` |
| POST | ``/reset`` | ``{}`` → `ScreenView` (standby; the devices reopened) |

Optional extensions, served only by a kiosk that declares them in `KioskInfo.extensions`
(docs/kiosk-adapter.md, "Extensions"):

| method | path | body → answer |
|---|---|---|
| GET | ``/time`` | → `KioskTime` (test-mode time) |
| POST | ``/time`` | `AdvanceTime` → `KioskTime` once every timer due has fired |
| GET | ``/config`` | → `KioskSettingsView` (configuration) |
| POST | ``/config`` | `KioskSettings` → `KioskSettingsView` (effective at the next restart) |
| POST | ``/restart`` | `Restart` → `ScreenView` once the part is back |

Every error is an RFC 9457 problem document with a stable ``code`` (`RobotError`).
Physical acts (a card on the reader, a bill in the slot, paper out of the tray) are not in
this protocol: the rig performs them on its emulators and the kiosk notices them through
its own devices, exactly as with a real customer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: 1.1: POST /reset; 1.2: optional extensions (time, config, events, storage)
PROTOCOL_VERSION = "1.2"
#: Default base path of the protocol on the kiosk (the topology's ``robot_url`` ends with it).
BASE_PATH = "/robot"
#: Longest long-poll a client may ask for with ``GET /screen?wait=``.
MAX_WAIT_S = 30.0


class ScreenId(StrEnum):
    """Stable screen identifiers (seed I.4.2 and I.4.4); the seed's numbers vary by method."""

    CARD_HOLD = "card_hold"  # カードかざし画面
    CARD_WAIT = "card_wait"  # カード待受画面 (reading the card, usability check)
    PIN = "pin"  # 暗証番号入力画面
    CARD_REMOVAL = "card_removal"  # カード受取画面
    CERTIFICATE_CHOICE = "certificate_choice"  # 証明書選択画面
    ISSUANCE_TYPE = "issuance_type"  # 交付種別入力画面
    HOUSEHOLD_SELECTION = "household_selection"  # 世帯選択画面
    ITEMS = "items"  # 証明書記載項目選択画面
    COPIES = "copies"  # 部数入力画面
    CONFIRMATION = "confirmation"  # 内容確認画面
    DOWNLOAD = "download"  # 証明書ダウンロード画面
    PAYMENT = "payment"  # 料金支払い画面
    PRINTING = "printing"  # 印刷中画面
    TAKE_REMINDER = "take_reminder"  # 取り忘れ注意画面
    RECEIPT = "receipt"  # 領収書印刷画面
    #: Not a seed screen: guidance after a refusal, a fault or a time-out.
    NOTICE = "notice"


class Method(StrEnum):
    """The authentication method of the transaction (seed I.1 (4))."""

    JPKI = "jpki"  # JPKI認証方式
    CARD_AP = "card_ap"  # カードAP認証方式


#: The seed's screen numbers per method (I.4.2: JPKI; I.4.4: card AP).
SEED_NUMBERS: dict[Method, dict[ScreenId, str]] = {
    Method.JPKI: {
        ScreenId.CARD_HOLD: "①",
        ScreenId.CARD_WAIT: "②",
        ScreenId.PIN: "③",
        ScreenId.CARD_REMOVAL: "④",
        ScreenId.CERTIFICATE_CHOICE: "⑤",
        ScreenId.ISSUANCE_TYPE: "⑥",
        ScreenId.HOUSEHOLD_SELECTION: "⑦",
        ScreenId.ITEMS: "⑧",
        ScreenId.COPIES: "⑨",
        ScreenId.CONFIRMATION: "⑩",
        ScreenId.DOWNLOAD: "⑪",
        ScreenId.PAYMENT: "⑫",
        ScreenId.PRINTING: "⑬",
        ScreenId.TAKE_REMINDER: "⑭",
        ScreenId.RECEIPT: "⑮",
    },
    Method.CARD_AP: {
        ScreenId.CARD_HOLD: "①",
        ScreenId.CARD_WAIT: "②",
        ScreenId.CARD_REMOVAL: "③",
        ScreenId.CERTIFICATE_CHOICE: "④",
        ScreenId.PIN: "⑤",
        ScreenId.ISSUANCE_TYPE: "⑥",
        ScreenId.HOUSEHOLD_SELECTION: "⑦",
        ScreenId.ITEMS: "⑧",
        ScreenId.COPIES: "⑨",
        ScreenId.CONFIRMATION: "⑩",
        ScreenId.DOWNLOAD: "⑪",
        ScreenId.PAYMENT: "⑫",
        ScreenId.PRINTING: "⑬",
        ScreenId.TAKE_REMINDER: "⑭",
        ScreenId.RECEIPT: "⑮",
    },
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Model):
    """Something the customer can touch: a button, a list entry, a check box."""

    id: str = Field(min_length=1, max_length=64)
    label: str
    enabled: bool = True
    #: For check boxes and list selections: whether it is ticked now.
    selected: bool | None = None
    #: Why a disabled option cannot be chosen (shown on screen).
    note: str | None = None


class Keypad(_Model):
    """A numeric entry field; the digits themselves are never reported, only their count."""

    kind: Literal["pin", "number"]
    length: int = Field(ge=1, le=16)
    entered: int = Field(ge=0)
    #: For `number` fields (copies), the value shown; None for a PIN.
    value: int | None = None


class ScreenView(_Model):
    """The current screen as the customer sees it."""

    seq: int = Field(ge=0, description="increases with every screen change")
    screen: ScreenId
    seed_number: str | None = None
    method: Method | None = None
    title: str
    text: list[str]
    options: list[Option] = []
    keypad: Keypad | None = None
    #: The kiosk is working (reading the card, downloading, printing): input is refused.
    busy: bool = False
    #: Facts the screen shows, machine-readable: fee_yen, paid_yen, change_yen, tries_left,
    #: copies, max_copies, certificate (type), notice code.
    facts: dict[str, int | str | bool | None] = {}

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    @property
    def all_text(self) -> str:
        return "\n".join([self.title, *self.text])


class Tap(_Model):
    option: str = Field(min_length=1, max_length=64)


class Keys(_Model):
    """Digits typed on the keypad (PIN, copies); ``C`` clears the field, ``<`` deletes one."""

    keys: str = Field(pattern=r"^[0-9C<]{1,16}$")


class HistoryEntry(_Model):
    seq: int
    screen: ScreenId
    seed_number: str | None = None
    method: Method | None = None
    #: Rig-clock time (ISO 8601) the screen appeared, for the reference kiosk; a vendor
    #: adapter reports its own clock.
    at: str
    #: For `notice` screens: the reason code.
    code: str | None = None


class History(_Model):
    entries: list[HistoryEntry]


class HeldData(_Model):
    """The answer to "what certificate data do you still hold?" (seed I.1 (2) 証明書データの不保持).

    After a transaction (completed, cancelled or timed out) every count must be zero and
    every list empty.
    """

    #: Certificate documents (PDF) held in memory or on disk.
    documents: int = Field(ge=0)
    document_bytes: int = Field(ge=0)
    #: Card certificates (JPKI authentication certificate) or card-AP identifiers held.
    card_data: int = Field(ge=0)
    #: Kinds of personal data still held (e.g. "household_names", "applicant_name").
    personal_data: list[str] = []
    #: Files in the kiosk's spool or temporary folders that hold certificate data.
    files: list[str] = []
    #: An open transaction at the centre.
    open_session: bool = False

    @property
    def empty(self) -> bool:
        """Every count zero, every list empty, no open session: each field is held data."""
        return not any(self.model_dump().values())


class TimeExtension(_Model):
    """Test-mode time: `POST /time` moves the kiosk's timers forward at once."""

    #: The longest single advance the kiosk accepts, in seconds.
    max_advance_s: float = Field(default=3600.0, gt=0)


#: What `POST /config` may set: the centre's URL, the trust anchor for the centre's certificate.
ConfigSetting = Literal["centre_url", "trust_anchor"]
#: What `POST /restart` may restart: the kiosk application, or one device power-cycled.
RestartPart = Literal["application", "card_reader", "cash_unit", "printer"]


class ConfigExtension(_Model):
    """Configuration: `POST /config` changes settings, `POST /restart` restarts a part."""

    settings: list[ConfigSetting] = []
    restart: list[RestartPart] = []


class EventsExtension(_Model):
    """Event log: `GET /events?since=N` answers the kiosk's own log of what happened."""


class StorageExtension(_Model):
    """Storage: `GET /storage` answers every file the kiosk keeps, with its content."""

    #: The most content (bytes, before base64) one answer carries; beyond it `truncated`.
    max_bytes: int = Field(default=8 << 20, gt=0)


class KioskExtensions(BaseModel):
    """The optional extensions a kiosk serves; unknown ones are ignored (a later version)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    time: TimeExtension | None = None
    config: ConfigExtension | None = None
    events: EventsExtension | None = None
    storage: StorageExtension | None = None


class KioskEvent(_Model):
    """One entry of the kiosk's event log (監査ログ): what happened, never to whom."""

    #: 1, 2, 3, … in the order the kiosk recorded them; kept across restarts of the kiosk.
    seq: int = Field(ge=1)
    #: When, on the kiosk's clock (ISO 8601 with its offset).
    at: str = Field(max_length=64)
    event: str = Field(min_length=1, max_length=64)
    #: The event's fields (screen, fee_yen, paid_yen, outcome, …), as the kiosk logs them.
    data: dict[str, Any] = {}


class KioskEvents(_Model):
    """`GET /events?since=N`: the entries after `seq` N, oldest first."""

    entries: list[KioskEvent]


class StoredFile(_Model):
    """One file the kiosk keeps on its own storage (state, logs, spool, settings)."""

    path: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=0)
    content_b64: str


class KioskStorage(_Model):
    """`GET /storage`: every file the kiosk keeps; `truncated` when `max_bytes` cut it short."""

    files: list[StoredFile]
    truncated: bool = False


class AdvanceTime(_Model):
    """`POST /time`: move the kiosk's clock forward by `advance_s` seconds at once."""

    advance_s: float = Field(gt=0, le=86400)


class KioskTime(_Model):
    """The kiosk's own clock (ISO 8601) and the seconds test mode has added to it so far."""

    kiosk_time: str
    advanced_s: float = Field(ge=0)


class KioskSettings(_Model):
    """`POST /config`: an absent field is left as it is; ``null`` restores the installed value.

    Settings last until the next `POST /reset`, which returns to the installed ones.
    """

    centre_url: str | None = Field(default=None, max_length=512)
    #: One or more PEM certificates: the only anchors the kiosk trusts for its centre.
    trust_anchor_pem: str | None = Field(default=None, max_length=3500)


class KioskSettingsView(_Model):
    centre_url: str
    #: SHA-256 (hex) of the DER of each trust anchor.
    trust_anchor_sha256: list[str]
    #: True while settings changed by `POST /config` wait for `POST /restart` (application).
    restart_pending: bool = False


class Restart(_Model):
    part: RestartPart


class KioskInfo(_Model):
    protocol_version: str = PROTOCOL_VERSION
    vendor: str
    model: str
    software_version: str
    #: The kiosk software's build (a commit or image digest); optional, the validation
    #: package records it with vendor, model and version (docs/validation-package.md).
    build_hash: str | None = Field(default=None, max_length=128)
    #: True when the kiosk's time-outs follow the rig clock (the reference kiosk): a
    #: scenario advances the rig clock and the kiosk reacts. False: the kiosk uses its own
    #: clock and scenarios wait in real time.
    follows_rig_clock: bool
    #: Inactivity time-out per screen id, in seconds of the kiosk's clock.
    timeouts_s: dict[str, float] = {}
    #: Optional extensions (protocol 1.2); absent for a kiosk that serves none.
    extensions: KioskExtensions = KioskExtensions()


class RobotError(StrEnum):
    """Problem codes of the robot protocol."""

    OPTION_UNKNOWN = "option_unknown"  # 404: no such option on this screen
    OPTION_DISABLED = "option_disabled"  # 409: the option is shown but cannot be chosen
    NO_KEYPAD = "no_keypad"  # 409: keys sent to a screen without a keypad
    KIOSK_BUSY = "kiosk_busy"  # 409: the kiosk is working; try again when not busy
    INVALID_REQUEST = "invalid_request"  # 422: body does not match the model
    KIOSK_UNAVAILABLE = "kiosk_unavailable"  # 503: the kiosk is stopping or did not answer


__all__ = [
    "BASE_PATH",
    "MAX_WAIT_S",
    "PROTOCOL_VERSION",
    "SEED_NUMBERS",
    "AdvanceTime",
    "ConfigExtension",
    "ConfigSetting",
    "EventsExtension",
    "HeldData",
    "History",
    "HistoryEntry",
    "Keypad",
    "Keys",
    "KioskEvent",
    "KioskEvents",
    "KioskExtensions",
    "KioskInfo",
    "KioskSettings",
    "KioskSettingsView",
    "KioskStorage",
    "KioskTime",
    "Method",
    "Option",
    "Restart",
    "RestartPart",
    "RobotError",
    "ScreenId",
    "ScreenView",
    "StorageExtension",
    "StoredFile",
    "Tap",
    "TimeExtension",
]
