"""The detection matrix: defect → the scenarios that caught it, as JSON and HTML.

`selftest.json` is for machines (one entry per defect: its party, area, incident, plan,
target requirements, the scenarios run, those that caught it with their first failure
line); `selftest.html` is the same for people, undetected defects first.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from reports.builder import now_stamp
from rig.harness.selftest.runner import DefectResult, PlanRun, SelftestOutcome

JSON_NAME = "selftest.json"
HTML_NAME = "selftest.html"


def _run(run: PlanRun) -> dict[str, Any]:
    return {
        "plan": run.plan,
        "requirements": list(run.requirements),
        "scenarios_run": len(run.outcomes),
        "failing": run.failing,
        "duration_s": round(run.duration_s, 1),
        "exit_status": run.exit_status,
        "problem": run.problem,
    }


def _entry(result: DefectResult) -> dict[str, Any]:
    d = result.defect
    return {
        "defect": d.name,
        "party": d.party,
        "area": d.area,
        "stands_for": d.stands_for,
        "summary": d.summary,
        "plan": d.plan,
        "targets": list(d.requirements),
        "detected": result.detected,
        "caught_by": [
            {"scenario": n, "message": result.run.messages.get(n, "")} for n in result.caught_by
        ],
        "failing_in_baseline_too": result.also_failing_in_baseline,
        "run": _run(result.run),
    }


def as_json(outcome: SelftestOutcome) -> dict[str, Any]:
    return {
        "finished_at": now_stamp(),
        "verdict": "pass" if outcome.exit_code == 0 else "fail",
        "whole_plan": outcome.whole_plan,
        "duration_s": round(outcome.duration_s, 1),
        "defects": len(outcome.results),
        "detected": sum(r.detected for r in outcome.results),
        "baselines": {plan: _run(run) for plan, run in outcome.baselines.items()},
        "matrix": [_entry(r) for r in outcome.results],
    }


def _short(nodeid: str) -> str:
    return nodeid.removeprefix("scenarios/")


def as_html(data: dict[str, Any]) -> str:
    e = html.escape
    rows = []
    ordered = sorted(data["matrix"], key=lambda m: (m["detected"], m["party"], m["defect"]))
    for m in ordered:
        caught = "".join(
            f"<li><code>{e(_short(c['scenario']))}</code></li>" for c in m["caught_by"]
        )
        status = "caught" if m["detected"] else "NOT CAUGHT"
        problem = f"<p class=problem>{e(m['run']['problem'])}</p>" if m["run"]["problem"] else ""
        rows.append(
            f"<tr class={'ok' if m['detected'] else 'bad'}>"
            f"<td><b>{e(m['defect'])}</b><br><small>{e(m['summary'])}</small></td>"
            f"<td>{e(m['party'])}<br><small>plan {e(m['plan'])}</small></td>"
            f"<td>{e(m['area'])}<br><small>{e(m['stands_for'])}</small></td>"
            f"<td>{e(', '.join(m['targets']))}</td>"
            f"<td>{status}<br><small>{len(m['caught_by'])} of "
            f"{m['run']['scenarios_run']} scenarios, {m['run']['duration_s']} s</small>"
            f"{problem}</td><td><ul>{caught}</ul></td></tr>"
        )
    baselines = "".join(
        f"<li>{e(plan)}: {b['scenarios_run']} scenarios, {len(b['failing'])} failing "
        f"against the reference parties (not counted as catches){e(' ' + b['problem'])}</li>"
        for plan, b in data["baselines"].items()
    )
    scope = "the whole plan" if data["whole_plan"] else "the scenarios of its target requirements"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rig selftest: detection matrix</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .4em; vertical-align: top; text-align: left; }}
tr.bad td {{ background: #fde2e2; }} tr.ok td:nth-child(5) {{ color: #1a7f37; }}
.problem {{ color: #b00; }} ul {{ margin: 0; padding-left: 1.2em; }}
</style></head><body>
<h1>rig selftest: detection matrix</h1>
<p><b>{e(data["verdict"].upper())}</b>: {data["detected"]} of {data["defects"]} defects caught
in {data["duration_s"]} s ({e(data["finished_at"])}). Each defect ran against {scope}, in
worlds of its own; docs/selftest.md says how to read this page.</p>
<ul>{baselines or "<li>no baseline run</li>"}</ul>
<table><tr><th>defect</th><th>party</th><th>area / stands for</th><th>targets</th>
<th>verdict</th><th>caught by</th></tr>
{"".join(rows)}
</table></body></html>
"""


def write_matrix(outcome: SelftestOutcome, report_dir: Path) -> dict[str, Any]:
    data = as_json(outcome)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / JSON_NAME).write_text(
        json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (report_dir / HTML_NAME).write_text(as_html(data), encoding="utf-8")
    return data
