"""Wire models take JSON's integer-valued numbers as the OpenAPI documents allow (45.0 is 45)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from emulators.municipal.certificates import CertificateRequest
from rig.core.protocols.centre import Completion, Payment


@pytest.mark.parametrize("amount", [300, 300.0])
def test_integer_valued_numbers_are_integers(amount: float) -> None:
    payment = Payment.model_validate({"amount_yen": amount})
    assert payment.amount_yen == 300 and type(payment.amount_yen) is int
    assert CertificateRequest.model_validate({"type": "koseki", "copies": amount / 100}).copies == 3


@pytest.mark.parametrize("copies", [1.5, "1", True, float("nan"), float("inf")])
def test_other_numbers_and_types_are_still_refused(copies: object) -> None:
    with pytest.raises(ValidationError):
        Completion.model_validate({"outcome": "printed", "copies_printed": copies})
