"""The verification site (問い合わせサイト): upload a scan of a certificate's back, see the
front it carries (issue 9; seed I.3).

- `VerificationSite(key, port=0, evidence=None)`: the launcher (`start() -> {"verify_url", …}`)
- `Limits`: the HTTP server's limits (the server itself: `server.VerificationServer`)
- `KeyRing`: the scramble keys the site holds
- `images.decode_upload`, `service.verify_back`: the work without HTTP;
  `decoded_page_from_png` for clients
- `Problem`, `CATALOGUE`: every refusal, with its stable code

See docs/verification-site.md.
"""

from __future__ import annotations

from emulators.verification.keys import KeyRing, KeyRingError
from emulators.verification.problems import CATALOGUE, Problem
from emulators.verification.server import Limits
from emulators.verification.service import decoded_page_from_png
from emulators.verification.site import VerificationSite

__all__ = [
    "CATALOGUE",
    "KeyRing",
    "KeyRingError",
    "Limits",
    "Problem",
    "VerificationSite",
    "decoded_page_from_png",
]
