"""Fault controls for the centre: incidents on the rig clock, added at run time.

The centre reads the same `IncidentSchedule` the scenario loaded (rig.core.calendar); a test
adds windows here: a JPKI outage (JPKI authentication refused, card AP unaffected), an LGWAN
outage for one municipality or all (municipal calls refused), a centre maintenance window
or a centre outage (nothing new starts).
"""

from __future__ import annotations

from datetime import datetime

from rig.core.calendar import Incident, IncidentKind, IncidentSchedule


class CentreFaults:
    def __init__(self, schedule: IncidentSchedule):
        self.schedule = schedule

    def _add(
        self, kind: IncidentKind, start: datetime, end: datetime, target: str, note: str
    ) -> Incident:
        if end <= start:
            raise ValueError("an incident ends after it starts")
        incident = Incident(kind, start, end, target, {}, note)
        self.schedule.incidents.append(incident)
        return incident

    def jpki_outage(self, start: datetime, end: datetime, note: str = "") -> Incident:
        return self._add(IncidentKind.JPKI_OUTAGE, start, end, "", note)

    def lgwan_outage(
        self, start: datetime, end: datetime, municipality: str = "", note: str = ""
    ) -> Incident:
        """An LGWAN outage toward `municipality` ("" = every municipality)."""
        return self._add(IncidentKind.LGWAN_OUTAGE, start, end, municipality, note)

    def maintenance(self, start: datetime, end: datetime, note: str = "") -> Incident:
        return self._add(IncidentKind.CENTRE_MAINTENANCE, start, end, "", note)

    def outage(self, start: datetime, end: datetime, note: str = "") -> Incident:
        """The centre itself fails (seed II.7.2): nothing new starts; everyone is told."""
        return self._add(IncidentKind.CENTRE_OUTAGE, start, end, "", note)

    def clear(self) -> None:
        kinds = (
            IncidentKind.JPKI_OUTAGE,
            IncidentKind.LGWAN_OUTAGE,
            IncidentKind.CENTRE_MAINTENANCE,
            IncidentKind.CENTRE_OUTAGE,
        )
        self.schedule.incidents[:] = [i for i in self.schedule.incidents if i.kind not in kinds]
