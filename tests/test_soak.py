"""The soak run, short: mixed traffic over a simulated week reconciles to the yen.

`make soak` runs the full campaign (1,000+ transactions, docs/performance.md); this short run
keeps the machinery honest in every `make test`, with customers pinned inside the incidents.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rig.harness.soak import JPKI_OUTAGE, LGWAN_OUTAGE, run_soak


def test_short_soak_reconciles_and_meets_the_incidents(tmp_path: Path) -> None:
    during_jpki = JPKI_OUTAGE[0] + timedelta(minutes=20)
    during_lgwan = LGWAN_OUTAGE[0] + timedelta(minutes=10)
    report = run_soak(
        10,
        tmp_path,
        pinned=[
            (during_jpki, "jpki_resident_record_exact"),
            (during_jpki + timedelta(minutes=5), "card_ap_seal_registration"),
            (during_lgwan, "jpki_resident_record_change"),
            (JPKI_OUTAGE[1] + timedelta(minutes=5), "jpki_resident_record_change"),
            (JPKI_OUTAGE[1] + timedelta(hours=2), "cancel_at_payment"),
            (JPKI_OUTAGE[1] + timedelta(hours=3), "revoked_card"),
        ],
    )
    assert report.ok, "\n".join(report.lines())
    assert report.transactions == 16
    assert report.results["cancelled"] >= 1
    assert report.copies_counted == report.copies_printed > 0
    assert report.cash_kept_yen == report.fees_counted_yen > 0
    by_time = {o.at: o for o in report.outcomes}
    assert by_time[during_jpki.isoformat()].result == "refused"  # JPKI refused in the outage
    card_ap = by_time[(during_jpki + timedelta(minutes=5)).isoformat()]
    assert card_ap.result == "issued"  # card AP keeps working
    assert by_time[during_lgwan.isoformat()].result == "refused"
    after = by_time[(JPKI_OUTAGE[1] + timedelta(minutes=5)).isoformat()]
    assert after.result == "issued"  # JPKI is back without a restart


@pytest.mark.slow
@pytest.mark.timeout(3600)  # ~22 min of wall time; `make soak` runs it as `rig soak` instead
def test_full_soak_a_week_of_traffic(tmp_path: Path) -> None:
    report = run_soak(1000, tmp_path)
    assert report.ok, "\n".join(report.lines())
    assert report.transactions >= 1000
