"""The specific errors of the anti-forgery package: every bad input gets one of these.

All derive from `AntiforgeryError` (a `ValueError`), so a caller that only wants "this page or
scan cannot be processed" catches one class; a verification site that wants to tell the user
why (wrong side scanned, wrong key, damaged sheet) catches the subclasses.
"""

from __future__ import annotations


class AntiforgeryError(ValueError):
    """Base class: the input cannot be marked, decoded or judged."""


class PageFormatError(AntiforgeryError):
    """The image is not a 2-D uint8 grayscale array of the expected page size."""


class KeyFormatError(AntiforgeryError):
    """The scramble key is not bytes of an acceptable length."""


class RegistrationError(AntiforgeryError):
    """The four registration marks were not found, or do not fit a small rotation and offset.

    Typical causes: the wrong side was scanned, the scan is rotated more than a few degrees or
    cropped, or the corners of the sheet are damaged.
    """


class HeaderDamagedError(AntiforgeryError):
    """The header strip above the scrambled image fails its CRC (damaged or not a back side)."""


class WrongKeyError(AntiforgeryError):
    """The header strip is intact but its key tag does not match the key given."""


class PdfError(AntiforgeryError):
    """Ghostscript could not rasterise the PDF, or the PDF helper got unusable pages."""
