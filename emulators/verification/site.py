"""`VerificationSite`: the launcher `rig serve` uses for the verification site.

site = VerificationSite(key, port=0, evidence=None)
endpoints = site.start()   # {"verify_url": "http://127.0.0.1:PORT/", "verify_api": …}
...
site.stop()
"""

from __future__ import annotations

from emulators.verification.keys import KeyRing
from emulators.verification.server import Limits, VerificationServer
from rig.core.evidence import EvidenceStore
from rig.core.party import PartyHealth, served_health


class VerificationSite:
    """The centre operator's verification site (問い合わせサイト) for scanned backs.

    `key` is the centre's scramble key, or a `KeyRing` (current key first, then keys still
    valid for sheets already issued).
    """

    def __init__(
        self,
        key: bytes | KeyRing,
        port: int = 0,
        evidence: EvidenceStore | None = None,
        *,
        limits: Limits | None = None,
    ):
        self.keys = key if isinstance(key, KeyRing) else KeyRing.of([("default", key)])
        #: nothing of the site fails on schedule (its refusals are its own checks)
        self.faults: None = None
        self.server = VerificationServer(self.keys, port, limits=limits, evidence=evidence)

    @property
    def url(self) -> str:
        return self.server.url + "/"

    def start(self) -> dict[str, str]:
        base = self.server.start()
        return {
            "verify_url": base + "/",
            "verify_api": base + "/api/verify",
            "compare_api": base + "/api/compare",
        }

    def stop(self) -> None:
        self.server.stop()

    def health(self) -> PartyHealth:
        return served_health(self.server.server)

    def __enter__(self) -> VerificationSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
