"""The conformance report's link to load runs: a section listing the load reports found
beside it (reports/out/load-*/), newest first. No Locust import here."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

MAX_LISTED = 10


def load_reports_html(report_dir: Path) -> str:
    """An HTML section linking the load runs next to `report_dir` ("" when there are none)."""
    found = sorted(report_dir.parent.glob("load-*/load.json"), reverse=True)[:MAX_LISTED]
    rows = []
    for path in found:
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
            figures, judge = result["figures"], result["judge"]
        except (OSError, ValueError, KeyError):
            continue
        link = os.path.relpath(path.parent / "index.html", report_dir)
        verdict = "passed" if result.get("passed") else "failed"
        rows.append(
            f"<tr><td><a href='{html.escape(link)}'>{html.escape(path.parent.name)}</a></td>"
            f"<td class='o-{verdict}'>{verdict}</td>"
            f"<td>{html.escape(str(result.get('profile', {}).get('name', '')))}</td>"
            f"<td>{figures.get('issuances_per_s')}</td><td>{figures.get('p99_ms')}</td>"
            f"<td>{judge.get('documents')}</td><td>{judge.get('cross_talk')}</td>"
            f"<td>{judge.get('failed')}</td></tr>"
        )
    if not rows:
        return ""
    head = (
        "<h2>Load campaigns</h2><table><tr><th>run</th><th>verdict</th><th>profile</th>"
        "<th>issuances/s</th><th>p99 ms</th><th>documents judged</th><th>cross-talk</th>"
        "<th>failed</th></tr>"
    )
    return head + "".join(rows) + "</table>"
