"""Who may read which statistics at the centre (統計情報の取得, seed I.2 (2), II.3 (9)).

Every reader is identified by its TLS client certificate alone (the TLS layer verified the
chain); a query parameter never widens what a certificate may see:

- an LGPKI-style certificate whose CN is a 6-digit municipality code is that municipality:
  it reads its own rows, and asking for another's is 403 `statistics_other_municipality`;
- the LGPKI-style certificate with CN `issuance-centre` is the centre's own side (J-LIS,
  which pays the municipalities and bills the operators, seed II.7.4): it reads everyone's;
- a kiosk-CA certificate whose subject carries OU = an operator id (`TlsMaterial.kiosk_client(
  name, operator=...)`) is that store operator (事業者): it reads its own stores' rows, and
  asking for another operator's is 403 `statistics_other_operator`; a kiosk-CA certificate
  without an OU names no operator: 403 `operator_not_identified`;
- any other LGPKI-style CN is 403 `client_not_allowed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.x509.oid import NameOID

from emulators.centre.errors import AccessCode, CentreError
from rig.core.protocols.centre import CentreCode

ClientKind = Literal["kiosk", "lgpki"]
ReaderRole = Literal["centre", "municipality", "operator"]

#: The CN of the centre's own LGPKI-style certificate (the one it shows municipal servers).
CENTRE_READER_CN = "issuance-centre"
MUNICIPALITY_CODE = re.compile(r"[0-9]{6}")
#: The same shape as OpenSession.operator_id (rig.core.protocols.centre).
OPERATOR_ID = re.compile(r"[a-z0-9-]{1,32}")


@dataclass(frozen=True)
class Reader:
    """A statistics reader: the centre itself, one municipality, or one operator."""

    role: ReaderRole
    subject: str | None = None  # the municipality code or the operator id

    def municipality(self, requested: str | None) -> str | None:
        """The municipality whose rows to read (None = all, for the centre only)."""
        if self.role == "centre":
            return requested
        if self.role != "municipality":
            raise CentreError(CentreCode.CLIENT_NOT_ALLOWED, "municipal statistics need LGPKI")
        if requested is not None and requested != self.subject:
            raise CentreError(
                AccessCode.STATISTICS_OTHER_MUNICIPALITY,
                "a municipality reads only its own statistics",
            )
        return self.subject

    def operator(self, requested: str) -> str:
        """The operator whose rows to read: `requested`, if this reader may."""
        if self.role == "centre":
            return requested
        if self.role != "operator":
            raise CentreError(
                CentreCode.CLIENT_NOT_ALLOWED, "operator statistics need an operator certificate"
            )
        if requested != self.subject:
            raise CentreError(
                AccessCode.STATISTICS_OTHER_OPERATOR, "an operator reads only its own statistics"
            )
        return requested


def operator_of(certificate: x509.Certificate) -> str | None:
    """The operator id a kiosk-CA certificate names in its one OU, or None if it names none.

    An OU that is not a well-formed operator id is returned as it is: it then matches no
    operator, so the certificate can neither read statistics nor open a session.
    """
    units = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not units:
        return None
    if len(units) > 1:
        return ""  # ambiguous: no single operator
    return str(units[0].value)


def reader_for(kind: ClientKind | None, certificate: x509.Certificate, cn: str) -> Reader:
    """Who the client certificate is, as a statistics reader (403 if it is nobody)."""
    if kind == "lgpki":
        if cn == CENTRE_READER_CN:
            return Reader("centre")
        if MUNICIPALITY_CODE.fullmatch(cn):
            return Reader("municipality", cn)
        raise CentreError(
            CentreCode.CLIENT_NOT_ALLOWED,
            f"the LGPKI certificate's CN is neither a municipality code nor {CENTRE_READER_CN}",
        )
    if kind == "kiosk":
        operator = operator_of(certificate)
        if operator is None or not OPERATOR_ID.fullmatch(operator):
            raise CentreError(
                AccessCode.OPERATOR_NOT_IDENTIFIED,
                "the kiosk certificate carries no operator id in OU",
            )
        return Reader("operator", operator)
    raise CentreError(CentreCode.CLIENT_NOT_ALLOWED, "unknown client CA")


def check_session_operator(certificate: x509.Certificate, operator_id: str) -> None:
    """A kiosk whose certificate names an operator opens sessions for that operator only."""
    bound = operator_of(certificate)
    if bound is not None and bound != operator_id:
        raise CentreError(
            AccessCode.OPERATOR_CERTIFICATE_MISMATCH,
            "operator_id must equal the operator (OU) of the kiosk's certificate",
        )


__all__ = [
    "CENTRE_READER_CN",
    "ClientKind",
    "Reader",
    "ReaderRole",
    "check_session_operator",
    "operator_of",
    "reader_for",
]
