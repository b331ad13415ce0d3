"""Card and authentication: ① card hold → ② reading → ③ PIN → ④ card removal (JPKI numbers).

JPKI (seed I.4.2): the card signs the centre's nonce after the PIN, then leaves, then the
menu loads. Card AP (seed I.4.3): the card answers a challenge, leaves, and the PIN goes
to the centre after the certificate choice (see emulators/kiosk/flow/choice.py).
"""

from __future__ import annotations

from emulators.kiosk import card_apps
from emulators.kiosk import screens as txt
from emulators.kiosk.card_apps import CardFacts, CardRefused, PinState
from emulators.kiosk.card_reader import CardIOError
from emulators.kiosk.centre_types import CentreRefusal, CentreUnreachable
from emulators.kiosk.flow.ending import EndingPhase
from emulators.kiosk.screens import NoticeCode
from emulators.kiosk.transaction import Transaction
from emulators.kiosk.views import PIN_LENGTH
from rig.core.protocols.centre import jpki_digest_info
from rig.core.protocols.robot import Method, ScreenId


class CardPhase(EndingPhase):
    """Reads the card, picks the method, verifies the PIN and authenticates to the centre."""

    def _pin_keys(self, keys: str) -> None:
        assert self.txn is not None
        for key in keys:
            if key == "C":
                self.txn.clear_pin()
            elif key == "<":
                if self.txn.pin:
                    self.txn.pin.pop()
            elif len(self.txn.pin) < PIN_LENGTH:
                self.txn.pin.append(ord(key))

    # -- ① --------------------------------------------------------------------------------
    def _tap_card_hold(self, option_id: str) -> None:
        if option_id == "use_card_ap":
            self.force_card_ap = not self.force_card_ap

    # -- ③ --------------------------------------------------------------------------------
    def _tap_pin(self, option_id: str) -> None:
        assert self.txn is not None
        if option_id == "clear":
            self.txn.clear_pin()
        elif option_id == "ok":
            if self.method is Method.JPKI:
                self._jpki_pin_entered()
            else:
                self._card_ap_pin_entered()

    # -- ② ④ ------------------------------------------------------------------------------
    def _start_card(self) -> None:
        self._go(ScreenId.CARD_WAIT)
        self.stale_card = True  # whatever happens, this card must leave before the next one
        try:
            self.conn = self.reader.connect()
            facts = card_apps.probe(self.conn, self.clock.now())
        except CardIOError:
            self._close_card()
            self._notice(NoticeCode.CARD_UNREADABLE)
            return
        try:
            method = self._method_for(facts)
        except CardRefused as exc:
            self.audit.record("card_refused", code=exc.code.value, card_kind=facts.kind.value)
            self._close_card()
            self._notice(exc.code)
            return
        self.force_card_ap = False
        txn = Transaction(method, facts.kind)
        self.txn = txn
        if method is Method.JPKI and facts.jpki is not None:
            txn.auth_certificate = bytearray(facts.jpki.certificate)
        else:
            txn.card_ap = facts.card_ap
        self.audit.record(
            "transaction_started", txn=txn.txn_id, method=method.value, card_kind=facts.kind.value
        )
        try:
            txn.session = self.centre.open_session()
            if method is Method.JPKI:
                assert facts.jpki is not None
                if facts.jpki.pin is PinState.DEVICE:
                    self._jpki_authenticate(verified_on_device=True)
                else:
                    self.ui.pin_tries = facts.jpki.tries_left
                    self.ui.pin_error = None
                    self._go(ScreenId.PIN)
            else:
                self._card_ap_authenticate()
        except (CentreRefusal, CentreUnreachable) as exc:
            self._abort_centre(exc)
        except CardIOError:
            self._abort(NoticeCode.CARD_REMOVED)

    def _method_for(self, facts: CardFacts) -> Method:
        if self.force_card_ap and facts.card_ap is not None:
            return Method.CARD_AP
        if facts.jpki is not None and facts.jpki_problem is None:
            return Method.JPKI
        if facts.card_ap is not None:
            return Method.CARD_AP
        if facts.jpki_problem is not None:
            raise CardRefused(facts.jpki_problem)
        raise CardRefused(NoticeCode.CARD_NOT_USABLE)

    def _jpki_pin_entered(self) -> None:
        txn = self.txn
        assert txn is not None and self.conn is not None
        pin = txn.pin.decode("ascii")
        txn.clear_pin()
        try:
            result = card_apps.verify_auth_pin(self.conn, pin)
        except CardIOError:
            self._abort(NoticeCode.CARD_REMOVED)
            return
        finally:
            del pin
        if result.locked:
            self.audit.record("pin_locked", txn=txn.txn_id, method=Method.JPKI.value)
            self._abort(NoticeCode.CARD_PIN_LOCKED)
            return
        if not result.ok:
            self.ui.pin_tries = result.tries_left
            self.ui.pin_error = txt.PIN_WRONG
            self.audit.record("pin_wrong", txn=txn.txn_id, tries_left=result.tries_left)
            return
        self._jpki_authenticate(verified_on_device=False)

    def _jpki_authenticate(self, *, verified_on_device: bool) -> None:
        txn = self.txn
        assert txn is not None and txn.session is not None and self.conn is not None
        assert txn.auth_certificate is not None
        try:
            # the card signs DigestInfo(SHA-256(nonce)) for the centre (docs/centre.md)
            signature = card_apps.sign_with_auth_key(
                self.conn, jpki_digest_info(txn.session.nonce), select_ap=verified_on_device
            )
            self.centre.authenticate_jpki(txn.session, bytes(txn.auth_certificate), signature)
        except (CentreRefusal, CentreUnreachable) as exc:
            self._abort_centre(exc)
            return
        except CardIOError:
            self._abort(NoticeCode.CARD_REMOVED)
            return
        self.audit.record("authenticated", txn=txn.txn_id, method=Method.JPKI.value)
        self._close_card()
        self._go(ScreenId.CARD_REMOVAL)

    def _card_ap_authenticate(self) -> None:
        txn = self.txn
        assert txn is not None and txn.session is not None and txn.card_ap is not None
        assert self.conn is not None
        challenge = self.centre.card_ap_challenge(txn.session, txn.card_ap)
        response = card_apps.card_ap_response(self.conn, challenge)
        self.centre.authenticate_card_ap(txn.session, challenge, response)
        self.audit.record("card_verified", txn=txn.txn_id, method=Method.CARD_AP.value)
        self._close_card()
        self._go(ScreenId.CARD_REMOVAL)

    def _card_ap_pin_entered(self) -> None:
        txn = self.txn
        assert txn is not None and txn.session is not None
        pin = txn.pin.decode("ascii")
        txn.clear_pin()
        try:
            self.centre.submit_pin(txn.session, pin)
        except (CentreRefusal, CentreUnreachable) as exc:
            if isinstance(exc, CentreRefusal) and exc.code == "pin_incorrect":
                self.ui.pin_tries = exc.tries_left
                self.ui.pin_error = txt.PIN_WRONG
                self.audit.record("pin_wrong", txn=txn.txn_id, tries_left=exc.tries_left)
                return
            self._abort_centre(exc)
            return
        finally:
            del pin
        txn.choice.pin_done = True
        self.audit.record("authenticated", txn=txn.txn_id, method=Method.CARD_AP.value)
        if self._load_menu():
            self._begin_choice()

    def _card_removed(self) -> None:
        """④ (JPKI) / ③ (card AP) done: fetch the menu and show the certificate choice."""
        txn = self.txn
        assert txn is not None and txn.session is not None
        self.stale_card = False
        # the card has left: its certificate is no longer needed (不保持)
        txn.erase_certificate()
        if txn.method is Method.JPKI and not self._load_menu():
            return
        self._go(ScreenId.CERTIFICATE_CHOICE)

    def _load_menu(self) -> bool:
        txn = self.txn
        assert txn is not None and txn.session is not None
        try:
            txn.menu = self.centre.menu(txn.session)
        except (CentreRefusal, CentreUnreachable) as exc:
            self._abort_centre(exc)
            return False
        return True
