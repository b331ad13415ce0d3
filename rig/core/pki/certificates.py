"""Reading an X.509 certificate that came from outside the rig: a card, a kiosk, a package.

cryptography parses a certificate's parts only when they are first read, so a damaged name
or an unknown key type raises wherever that happens to be, outside the check meant for it.
`fully_parsed` reads them all at once, where the caller can turn the error into its own.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

#: what reading a damaged certificate's parts raises (a bad value, an unknown key type)
UNREADABLE_CERTIFICATE = (ValueError, UnsupportedAlgorithm)


def fully_parsed(cert: x509.Certificate) -> x509.Certificate:
    """`cert`, with every part the rig reads parsed now (raises one of `UNREADABLE_CERTIFICATE`)."""
    _ = (cert.subject, cert.issuer, cert.serial_number, cert.extensions, cert.public_key())
    _ = (cert.not_valid_before_utc, cert.not_valid_after_utc)
    return cert
