"""The verification site (問い合わせサイト): upload a scan of a certificate's back, see the
front it carries (issue 9; seed I.3).

- `VerificationSite(key, port=0, evidence=None)`: the launcher (`start() -> {"verify_url", …}`)
- `VerificationServer`, `Limits`: the HTTP server and its limits
- `KeyRing`: the scramble keys the site holds
- `decode_upload`, `verify_back`: the work without HTTP; `decoded_page_from_png` for clients
- `Problem`, `CATALOGUE`: every refusal, with its stable code

See docs/verification-site.md.
"""

from __future__ import annotations

from emulators.verification.images import MAX_PDF_PAGES, DecodedUpload, PageImage, decode_upload
from emulators.verification.keys import KeyRing, KeyRingError
from emulators.verification.problems import CATALOGUE, Problem
from emulators.verification.server import DEFAULT_MAX_UPLOAD, Limits, VerificationServer
from emulators.verification.service import Verification, decoded_page_from_png, verify_back
from emulators.verification.site import VerificationSite

__all__ = [
    "CATALOGUE",
    "DEFAULT_MAX_UPLOAD",
    "MAX_PDF_PAGES",
    "DecodedUpload",
    "KeyRing",
    "KeyRingError",
    "Limits",
    "PageImage",
    "Problem",
    "Verification",
    "VerificationServer",
    "VerificationSite",
    "decode_upload",
    "decoded_page_from_png",
    "verify_back",
]
