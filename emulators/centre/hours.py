"""When the centre serves kiosks, and what happens to a transaction at closing time.

Rules (docs/centre.md, "Hours"):

- Nothing new starts outside 6:30–23:00 or during the 12/29–1/3 closure (rig.core.calendar
  `CentreHours`), nor during a scheduled `centre-maintenance` incident: opening a session,
  authenticating, the menu, a new request, and the first download of a document are refused
  with 503 `centre_closed` / `centre_maintenance` and a Retry-After to the next opening.
- A request whose document was downloaded before closing may still confirm payment and
  report completion until the session's deadline: at most `GRACE` (10 minutes) after the
  closing time, and never later than `SESSION_LIFETIME` after the session opened.
- At the deadline the session is purged (documents deleted, the municipality told).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from emulators.centre.errors import CentreError
from rig.core.calendar import CentreHours, IncidentKind, IncidentSchedule
from rig.core.protocols.centre import CentreCode

#: A session (and every document it holds) lives at most this long on the rig clock.
SESSION_LIFETIME = timedelta(minutes=15)
#: How long after closing a downloaded document may still be paid for and printed.
GRACE = timedelta(minutes=10)
#: Incidents during which nothing new starts, and the refusal each gives (outage first).
_STOPPED_BY = (
    (IncidentKind.CENTRE_OUTAGE, CentreCode.CENTRE_FAULT),
    (IncidentKind.CENTRE_MAINTENANCE, CentreCode.CENTRE_MAINTENANCE),
)


class ServiceWindow:
    """The centre's calendar: hours, closure, maintenance incidents."""

    def __init__(self, hours: CentreHours | None = None, incidents: IncidentSchedule | None = None):
        self.hours = hours or CentreHours()
        self.incidents = incidents if incidents is not None else IncidentSchedule()

    def check_new(self, now: datetime) -> None:
        """Raise unless something new may start at `now`."""
        closure = self.hours.closure(now)
        if closure is not None:
            reopen = self.hours.next_opening(now)
            raise CentreError(
                CentreCode.CENTRE_CLOSED,
                f"{closure.value}; opens {reopen.isoformat()}",
                retry_after=int((reopen - now).total_seconds()),
                closure=closure.value,
                opens_at=reopen.isoformat(),
            )
        for kind, code in _STOPPED_BY:
            incident = self.incidents.active(kind, now)
            if incident is not None:
                raise CentreError.during(code, incident, now)

    def deadline(self, opened: datetime) -> datetime:
        """When a session opened at `opened` is purged, whatever state it is in."""
        return min(opened + SESSION_LIFETIME, self.hours.next_closing(opened) + GRACE)
