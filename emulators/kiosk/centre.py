"""The kiosk's ONE link to the issuance centre (証明書交付センター): HTTPS, client certificate.

Every centre call of the reference kiosk goes through `CentreLink`, built on the rig's
centre client (`rig.core.drivers.centre_client`, docs/api/centre.openapi.yaml). Answers become
the flow's own types (`centre_types`); problem documents become `CentreRefusal` with the
problem's `code` (the flow's guidance table is keyed by it), transport failures become
`CentreUnreachable`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

import httpx

from emulators.kiosk.centre_types import (
    CentreRefusal,
    CentreSession,
    CentreUnreachable,
    Issued,
    Member,
    Menu,
    MenuItem,
)
from emulators.kiosk.config import KioskConfig
from emulators.kiosk.screens import NoticeCode
from rig.core.drivers.centre_client import CentreAnswerError, CentreApiError, CentreClient
from rig.core.protocols.card_ap import CardApInfo
from rig.core.protocols.centre import CertTypeName

T = TypeVar("T")
P = ParamSpec("P")


class MenuFormatError(CentreRefusal):
    """The centre's menu does not have the documented shape (shown as a refusal)."""

    def __init__(self, why: str):
        super().__init__(NoticeCode.CENTRE_ANSWER_INVALID.value, None, source="kiosk")
        self.why = why


class CentreLink:
    def __init__(self, config: KioskConfig, *, timeout: float = 30.0):
        self.config = config
        self.client = CentreClient(
            config.centre_url,
            client=config.client_certificate,
            server_ca=config.server_ca,
            timeout=timeout,
        )

    def close(self) -> None:
        self.client.close()

    def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        # The centre is reached over TLS or not at all (seed I.1 (2)): an http:// URL is a
        # configuration error, and nothing may be sent in clear to it.
        if urlsplit(self.config.centre_url).scheme != "https":
            raise CentreUnreachable("centre URL is not https")
        try:
            return fn(*args, **kwargs)
        except CentreAnswerError as exc:  # a broken centre: the same end as one not answering
            raise CentreUnreachable(exc.code) from None
        except CentreApiError as exc:
            problem = exc.problem
            tries = problem.get("tries_left")
            message = problem.get("message_ja")
            raise CentreRefusal(
                exc.code,
                message if isinstance(message, str) else None,
                status=exc.status,
                source=exc.source or "centre",
                tries_left=tries if isinstance(tries, int) else None,
            ) from None
        except (httpx.HTTPError, OSError) as exc:
            raise CentreUnreachable(type(exc).__name__) from None

    # -- the calls the flow makes ----------------------------------------------------------
    def open_session(self) -> CentreSession:
        c = self.config
        info = self._call(self.client.open_session, c.kiosk_id, c.store_id, c.operator_id)
        nonce = info.nonce
        if nonce is None:
            nonce = self._call(self.client.new_nonce, info.session_id)
        return CentreSession(info.session_id, nonce)

    def authenticate_jpki(
        self, session: CentreSession, certificate: bytes, signature: bytes
    ) -> None:
        self._call(
            self.client.authenticate_jpki, session.session_id, certificate, signature, session.nonce
        )

    def card_ap_challenge(self, session: CentreSession, info: CardApInfo) -> bytes:
        answer = self._call(
            self.client.card_ap_challenge, session.session_id, info.municipality_code, info.user_id
        )
        return answer.challenge

    def authenticate_card_ap(
        self, session: CentreSession, challenge: bytes, response: bytes
    ) -> None:
        self._call(self.client.authenticate_card_ap, session.session_id, challenge, response)

    def submit_pin(self, session: CentreSession, pin: str) -> None:
        self._call(self.client.verify_pin, session.session_id, pin)

    def menu(self, session: CentreSession) -> Menu:
        return parse_menu(self._call(self.client.menu, session.session_id))

    def request(
        self,
        session: CentreSession,
        item: MenuItem,
        options: dict[str, object],
        copies: int,
        idempotency_key: str,
    ) -> Issued:
        receipt = self._call(
            self.client.request_certificate,
            session.session_id,
            cast(CertTypeName, item.type),
            variant=item.variant,
            copies=copies,
            options=dict(options),
            idempotency_key=idempotency_key,
        )
        return Issued(
            request_id=receipt.request_id,
            title=receipt.title,
            pages=receipt.pages,
            copies=receipt.copies,
            fee_per_copy=receipt.fee_per_copy,
            total_fee=receipt.total_fee,
        )

    def download(self, session: CentreSession, issued: Issued) -> bytes:
        return self._call(self.client.download, session.session_id, issued.request_id)

    def confirm_payment(self, session: CentreSession, issued: Issued, amount: int) -> None:
        self._call(
            self.client.confirm_payment,
            session.session_id,
            issued.request_id,
            amount,
            idempotency_key=f"{self.config.kiosk_id}-{issued.request_id}-pay",
        )

    def complete(
        self, session: CentreSession, issued: Issued, printed: bool, copies_printed: int
    ) -> None:
        try:
            self._call(
                self.client.complete,
                session.session_id,
                issued.request_id,
                "printed" if printed else "failed",
                copies_printed,
                idempotency_key=f"{self.config.kiosk_id}-{issued.request_id}-done",
            )
        finally:
            self.end_session(session)

    def end_session(self, session: CentreSession) -> None:
        try:
            self._call(self.client.end_session, session.session_id)
        except CentreRefusal as exc:
            if exc.code not in ("session_unknown", "session_expired"):
                raise


def parse_menu(data: Any) -> Menu:
    """The centre relays the municipality's menu (docs/api/municipal.openapi.yaml, Menu).

    Anything that does not have that shape raises `MenuFormatError`, never another error.
    """
    try:
        return _parse_menu(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MenuFormatError(type(exc).__name__) from None


def _parse_menu(data: dict[str, Any]) -> Menu:
    muni = data.get("municipality") or {}
    applicant = data.get("applicant") or {}
    items: list[MenuItem] = []
    for raw in data.get("certificates") or []:
        refusal = raw.get("refusal") or {}
        items.append(
            MenuItem(
                type=str(raw["type"]),
                variant=raw.get("variant"),
                title=str(raw.get("title", "")),
                fee=int(raw.get("fee", 0)),
                paper=str(raw.get("paper", "A4")),
                options=tuple(raw.get("options") or ()),
                available=bool(raw.get("available")),
                refusal_code=refusal.get("code"),
                refusal_message=refusal.get("message_ja"),
            )
        )
    return Menu(
        municipality_code=str(muni.get("code", "")),
        municipality_name=str(muni.get("name", "")),
        max_copies=max(1, min(int(data.get("max_copies", 1)), 99)),
        household=[
            Member(str(m["member_id"]), str(m.get("name", "")), str(m.get("relationship", "")))
            for m in data.get("household") or []
        ],
        tax_years=[int(y) for y in data.get("tax_years") or []],
        certificates=items,
        applicant_name=str(applicant.get("name", "")),
    )
