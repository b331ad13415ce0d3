"""Certificate choice: ⑤ type → ⑥–⑨ inputs → ⑩ confirmation → ⑪ download (seed I.4.1).

The input screens a choice needs follow from the municipality's menu (`_steps`); applying
requests and downloads the certificate, then hands over to payment.
"""

from __future__ import annotations

from emulators.kiosk import screens as txt
from emulators.kiosk.centre_types import CentreRefusal, CentreUnreachable
from emulators.kiosk.flow.ending import EndingPhase
from emulators.kiosk.screens import NoticeCode
from rig.core.protocols.robot import Method, ScreenId


class ChoicePhase(EndingPhase):
    """Walks the choice screens and requests the chosen certificate from the centre."""

    # -- ⑤ --------------------------------------------------------------------------------
    def _tap_certificate_choice(self, option_id: str) -> None:
        assert self.txn is not None
        self.txn.choice.cert_type = option_id
        if self.method is Method.CARD_AP and not self.txn.choice.pin_done:
            # card AP (seed I.4.3): the choice comes before the PIN, so before the menu
            self.ui.pin_error = None
            self.ui.pin_tries = None
            self._go(ScreenId.PIN)
            return
        self._begin_choice()

    def _begin_choice(self) -> None:
        """Set the choice's defaults from the menu and show the first input screen (⑥–⑨)."""
        assert self.txn is not None and self.txn.menu is not None
        choice = self.txn.choice
        items = self.txn.menu.items_of(choice.cert_type or "")
        usable = [i for i in items if i.available]
        if not usable:
            refused = items[0] if items else None
            code = (refused.refusal_code if refused else None) or "type_not_offered"
            message = refused.refusal_message if refused else None
            self._abort_centre(CentreRefusal(code, message, source="municipality"))
            return
        choice.variant = usable[0].variant if len(items) == 1 else None
        choice.scope = "household" if "scope" in items[0].options else None
        choice.members = []
        choice.items = {
            name: name == "include_head_relationship"
            for name in txt.ITEM_LABELS
            if name in items[0].options
        }
        years = self.txn.menu.tax_years
        choice.fiscal_year = max(years) if "fiscal_year" in items[0].options and years else None
        choice.copies = 1
        self._go(self._steps()[0])

    def _steps(self) -> list[ScreenId]:
        """The input screens the current choice needs, in the seed's order (⑥–⑩)."""
        assert self.txn is not None and self.txn.menu is not None
        choice = self.txn.choice
        items = self.txn.menu.items_of(choice.cert_type or "")
        options = items[0].options if items else ()
        steps: list[ScreenId] = []
        if len(items) > 1 or "scope" in options:
            steps.append(ScreenId.ISSUANCE_TYPE)
        if choice.scope == "members":
            steps.append(ScreenId.HOUSEHOLD_SELECTION)
        if any(o.startswith("include_") or o == "fiscal_year" for o in options):
            steps.append(ScreenId.ITEMS)
        steps += [ScreenId.COPIES, ScreenId.CONFIRMATION]
        return steps

    def _walk(self, option_id: str) -> None:
        """`next` / `back`, offered on the input screens only (⑥–⑩): along `_steps`."""
        steps = self._steps()
        self.ui.copies_error = None
        if option_id == "next":
            index = steps.index(self.screen) if self.screen in steps else -1
            self._go(steps[min(index + 1, len(steps) - 1)])
        else:
            index = steps.index(self.screen) if self.screen in steps else 0
            self._go(steps[index - 1] if index > 0 else ScreenId.CERTIFICATE_CHOICE)

    # -- ⑥ ⑦ ⑧ ⑨ ------------------------------------------------------------------------
    def _tap_issuance_type(self, option_id: str) -> None:
        assert self.txn is not None
        choice = self.txn.choice
        if choice.scope is not None:
            choice.scope = option_id
        else:
            choice.variant = option_id

    def _tap_household_selection(self, option_id: str) -> None:
        assert self.txn is not None
        members = self.txn.choice.members
        if option_id.startswith("member:"):
            member = option_id.removeprefix("member:")
            if member in members:
                members.remove(member)
            else:
                members.append(member)

    def _tap_items(self, option_id: str) -> None:
        assert self.txn is not None
        choice = self.txn.choice
        if option_id.startswith("year:"):
            choice.fiscal_year = int(option_id.removeprefix("year:"))
        else:
            choice.items[option_id] = not choice.items.get(option_id, False)

    def _tap_copies(self, option_id: str) -> None:
        assert self.txn is not None and self.txn.menu is not None
        choice = self.txn.choice
        limit = self.txn.menu.max_copies
        self.ui.copies_error = None
        if option_id == "plus":
            choice.copies = min(choice.copies + 1, limit)
        elif option_id == "minus":
            choice.copies = max(choice.copies - 1, 1)

    # -- ⑩ → ⑪ → ⑫ ----------------------------------------------------------------------
    def _tap_confirmation(self, option_id: str) -> None:
        if option_id == "apply":
            self._apply()

    def _apply(self) -> None:
        txn = self.txn
        assert txn is not None and txn.menu is not None and txn.session is not None
        item = txn.choice.item(txn.menu)
        if item is None:
            self._abort(NoticeCode.KIOSK_FAULT)
            return
        self._go(ScreenId.DOWNLOAD)
        try:
            issued = self.centre.request(
                txn.session,
                item,
                self._request_options(),
                txn.choice.copies,
                idempotency_key=f"{self.config.kiosk_id}-{txn.txn_id}-request",
            )
            txn.issued = issued
            txn.document = bytearray(self.centre.download(txn.session, issued))
        except (CentreRefusal, CentreUnreachable) as exc:
            self._abort_centre(exc)
            return
        self.audit.record(
            "downloaded",
            txn=txn.txn_id,
            type=item.type,
            variant=item.variant,
            copies=issued.copies,
            pages=issued.pages,
            fee_yen=issued.total_fee,
        )
        self.cash.start(issued.total_fee)
        self._go(ScreenId.PAYMENT)

    def _request_options(self) -> dict[str, object]:
        assert self.txn is not None
        choice = self.txn.choice
        options: dict[str, object] = {}
        if choice.scope is not None:
            options["scope"] = choice.scope
        if choice.scope == "members":
            options["members"] = list(choice.members)
        options.update(choice.items)
        if choice.fiscal_year is not None:
            options["fiscal_year"] = choice.fiscal_year
        return options

    def _copies_keys(self, keys: str, max_copies: int) -> None:
        assert self.txn is not None
        value = self.txn.choice.copies
        for key in keys:
            if key == "C":
                value = 0
            elif key == "<":
                value //= 10
            else:
                value = value * 10 + int(key) if value < 10 else int(key)
        self.ui.copies_error = None
        if value > max_copies:
            self.ui.copies_error = txt.COPIES_LIMIT.format(max=max_copies)
            value = max_copies
        self.txn.choice.copies = max(value, 1) if value else 1
