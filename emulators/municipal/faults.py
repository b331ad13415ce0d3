"""Fault injection for the municipal issuance server (scenarios flip these at run time).

- `down`: every municipal route answers 503 `service_unavailable` (an LGWAN or server outage);
- `delay_seconds`: wall-clock delay before each answer (the centre's time-out handling);
- `fail_next`: the next N requests answer 503, then service resumes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from emulators.municipal.reasons import Refusal, RefusalCode


@dataclass
class MunicipalFaults:
    down: bool = False
    delay_seconds: float = 0.0
    fail_next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def apply(self) -> None:
        """Called at the start of each municipal request."""
        if self.delay_seconds > 0:
            time.sleep(min(self.delay_seconds, 120.0))
        if self.down:
            raise Refusal(RefusalCode.SERVICE_UNAVAILABLE, "fault injected: server down")
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise Refusal(RefusalCode.SERVICE_UNAVAILABLE, "fault injected: failing request")

    def clear(self) -> None:
        with self._lock:
            self.down = False
            self.delay_seconds = 0.0
            self.fail_next = 0
