"""The conformance report: summary.json, a single-page HTML summary, and the run history.

Inputs are the plugin's results JSON (`--rig-results`), the requirement catalogue, an optional
expected-failures file of the vendor's, and the history of earlier runs (JSON lines). The
requirement matrix maps each requirement to its scenarios, their outcomes and their evidence.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from reports.load_links import load_reports_html
from rig.core.requirements import Catalogue, load_catalogue
from rig.core.steps import story

FAILED = ("failed", "error")
HISTORY_FILE = "history.jsonl"


class ReportError(ValueError):
    """Bad input to the report builder (results or expected-failures file)."""


@dataclass(frozen=True)
class ExpectedFailure:
    test: str | None
    requirement: str | None
    reason: str

    def matches(self, test: dict[str, Any]) -> bool:
        if self.test is not None and test["nodeid"] == self.test:
            return True
        return self.requirement is not None and self.requirement in test.get("requirements", [])


def load_expected_failures(path: Path | None) -> list[ExpectedFailure]:
    if path is None:
        return []
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReportError(f"{path}: cannot read expected failures: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise ReportError(f"{path}: expected a list of {{test|requirement, reason}} entries")
    entries = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not (item.get("test") or item.get("requirement")):
            raise ReportError(f"{path}: entry {i} needs 'test' or 'requirement'")
        if not item.get("reason"):
            raise ReportError(f"{path}: entry {i} needs a 'reason'")
        entries.append(
            ExpectedFailure(item.get("test"), item.get("requirement"), str(item["reason"]))
        )
    return entries


def load_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: cannot read results: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise ReportError(f"{path}: not a rig results file (no 'tests' list)")
    return data


def build_summary(
    results: dict[str, Any],
    catalogue: Catalogue,
    expected: list[ExpectedFailure],
    history: list[dict[str, Any]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    tests = results["tests"]
    totals = Counter(t["outcome"] for t in tests)
    by_area: dict[str, Counter[str]] = {}
    for t in tests:
        by_area.setdefault(t.get("area") or "(other)", Counter())[t["outcome"]] += 1
    failed = [t for t in tests if t["outcome"] in FAILED]
    expected_failed = [t for t in failed if any(e.matches(t) for e in expected)]
    new_failures = [t for t in failed if t not in expected_failed]
    scenarios_of: dict[str, list[dict[str, Any]]] = {}
    for t in tests:
        for rid in t.get("requirements", []):
            scenarios_of.setdefault(rid, []).append(t)
    matrix = []
    for req in catalogue:
        runs = scenarios_of.get(req.id, [])
        ran = [t for t in runs if t["outcome"] not in ("skipped",)]
        if not runs:
            verdict = "not-run"
        elif any(t["outcome"] in FAILED for t in ran):
            verdict = "failed"
        elif ran:
            verdict = "passed"
        else:
            verdict = "skipped"
        matrix.append(
            {
                "id": req.id,
                "area": req.area,
                "severity": req.severity.value,
                "statement": req.statement,
                "source": req.source,
                "result": verdict,
                "scenarios": [
                    {
                        "nodeid": t["nodeid"],
                        "outcome": t["outcome"],
                        "evidence": t.get("evidence"),
                        **({"unit": t["unit"]} if t.get("unit") else {}),
                    }
                    for t in runs
                ],
            }
        )
    verdict_counts = Counter(row["result"] for row in matrix)
    return {
        "run": {**meta, "plan": results.get("plan"), "topology": results.get("topology")},
        "verdict": "fail" if new_failures else "pass",
        "totals": dict(totals),
        "tests": len(tests),
        "duration_s": results.get("duration_s"),
        "by_area": {area: dict(c) for area, c in sorted(by_area.items())},
        "new_failures": [_brief(t) for t in new_failures],
        "expected_failures": [
            {**_brief(t), "reason": next(e.reason for e in expected if e.matches(t))}
            for t in expected_failed
        ],
        "requirements": {"counts": dict(verdict_counts), "matrix": matrix},
        "not_run": [
            {"nodeid": t["nodeid"], "reason": t.get("message", "")}
            for t in tests
            if t["outcome"] == "skipped"
        ],
        "trend": history[-20:],
        "units": _units(tests),
        # how each scenario's kiosk time-outs ran: rig clock, test-mode time or real time
        "time_outs": [{"nodeid": t["nodeid"], "time": t["time"]} for t in tests if t.get("time")],
    }


def _units(tests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Which kiosk unit ran which scenario (a run over several units); {} for one kiosk."""
    units: dict[str, dict[str, Any]] = {}
    for t in tests:
        if t.get("unit"):
            unit = units.setdefault(t["unit"], {"totals": Counter(), "scenarios": []})
            unit["totals"][t["outcome"]] += 1
            unit["scenarios"].append({"nodeid": t["nodeid"], "outcome": t["outcome"]})
    return {
        name: {"totals": dict(u["totals"]), "scenarios": u["scenarios"]}
        for name, u in sorted(units.items())
    }


def _brief(test: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeid": test["nodeid"],
        "outcome": test["outcome"],
        "requirements": test.get("requirements", []),
        "message": test.get("message", ""),
        "evidence": test.get("evidence"),
        # what the customer did and saw, in order, with the failing step marked
        "steps": story(test.get("evidence")),
        **({"unit": test["unit"]} if test.get("unit") else {}),
    }


def read_history(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line from an interrupted run must not break the report
    return rows


def build_report(
    results_path: Path,
    report_dir: Path,
    *,
    expected_failures: Path | None = None,
    meta: dict[str, Any] | None = None,
    history_path: Path | None = None,
    record_history: bool = True,
) -> dict[str, Any]:
    """Write summary.json and index.html into `report_dir`; append this run to the history."""
    report_dir.mkdir(parents=True, exist_ok=True)
    history_path = history_path or report_dir.parent / HISTORY_FILE
    history = read_history(history_path)
    summary = build_summary(
        load_results(results_path),
        load_catalogue(),
        load_expected_failures(expected_failures),
        history,
        meta or {},
    )
    (report_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (report_dir / "index.html").write_text(render_html(summary, report_dir), encoding="utf-8")
    if record_history:
        entry = {
            "at": summary["run"].get("finished_at"),
            "plan": summary["run"].get("plan"),
            "verdict": summary["verdict"],
            "totals": summary["totals"],
            "new_failures": len(summary["new_failures"]),
        }
        with history_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return summary


# -- HTML ---------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,'IPAexGothic',sans-serif;margin:2em;color:#222;max-width:1200px}
h1{margin-bottom:.2em} .meta{color:#555;font-size:.9em}
.verdict{display:inline-block;padding:.3em 1em;border-radius:4px;color:#fff;font-weight:bold}
.pass{background:#2e7d32}.fail{background:#c62828}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}
.o-passed{color:#2e7d32}.o-failed,.o-error{color:#c62828;font-weight:bold}
.o-skipped,.o-not-run{color:#888}.o-xfailed{color:#ef6c00}
.bar{display:inline-block;height:10px;background:#2e7d32}.barf{background:#c62828}
code{font-size:.85em}
"""


def _e(text: Any) -> str:
    return html.escape(str(text))


def _rel(path: str | None, report_dir: Path) -> str | None:
    if not path:
        return None
    try:
        return str(Path(path).resolve().relative_to(report_dir.resolve()))
    except ValueError:
        return str(Path(path).resolve())


def _story_html(steps: list[dict[str, Any]]) -> str:
    """The customer's story of a failed scenario: every step in order, the failing ones marked."""
    if not steps:
        return ""
    items = []
    for s in steps:
        mark = {"failed": "✗", "unfinished": "…"}.get(s.get("outcome", ""), "✓")
        line = f"{mark} {_e(s.get('title', ''))}"
        if s.get("saw"):
            line += f" <small>→ {_e(s['saw'])}</small>"
        if s.get("error"):
            line += f"<br><small>{_e(s['error'])}</small>"
        css = "o-failed" if s.get("outcome") == "failed" else ""
        indent = 1.2 * int(s.get("depth", 0))
        items.append(f"<li class='{css}' style='margin-left:{indent:.1f}em'>{line}</li>")
    return (
        "<details open><summary>steps</summary><ol class='story'>"
        + "".join(items)
        + "</ol></details>"
    )


def render_html(summary: dict[str, Any], report_dir: Path) -> str:
    run = summary["run"]
    totals = summary["totals"]
    parts = [
        "<!doctype html><html lang='ja'><head><meta charset='utf-8'>",
        f"<title>{_e(run.get('plan_title') or 'Konbini rig conformance report')}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>コンビニ交付 conformance report</h1>",
        *_plan_heading(run),
        f"<p><span class='verdict {summary['verdict']}'>{summary['verdict'].upper()}</span> ",
        f"plan <b>{_e(run.get('plan'))}</b>, topology <b>{_e(run.get('topology'))}</b>, ",
        f"{summary['tests']} scenarios: ",
        ", ".join(f"<span class='o-{_e(k)}'>{v} {_e(k)}</span>" for k, v in sorted(totals.items())),
        "</p>",
        f"<p class='meta'>finished {_e(run.get('finished_at'))}; "
        f"duration {float(summary.get('duration_s') or 0):.1f} s</p>",
        selftest_line(report_dir),
    ]
    parts.append("<h2>New failures</h2>")
    if summary["new_failures"]:
        parts.append("<table><tr><th>scenario</th><th>requirements</th><th>message</th></tr>")
        for t in summary["new_failures"]:
            unit = f"<br><small>unit {_e(t['unit'])}</small>" if t.get("unit") else ""
            parts.append(
                f"<tr><td><code>{_e(t['nodeid'])}</code>{unit}</td>"
                f"<td>{_e(', '.join(t['requirements']))}</td><td><pre>{_e(t['message'])}</pre>"
                f"{_story_html(t.get('steps', []))}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    if summary["expected_failures"]:
        parts.append("<h2>Expected failures (vendor's list)</h2><table>")
        parts.append("<tr><th>scenario</th><th>reason</th></tr>")
        for t in summary["expected_failures"]:
            parts.append(
                f"<tr><td><code>{_e(t['nodeid'])}</code></td><td>{_e(t['reason'])}</td></tr>"
            )
        parts.append("</table>")
    if summary.get("not_run"):
        reasons = Counter(t["reason"] for t in summary["not_run"])
        parts.append("<h2>Not run</h2><p>Scenarios that did not judge the device under test, ")
        parts.append("by reason (none of them counts as passed).</p><table>")
        parts.append("<tr><th>reason</th><th>scenarios</th></tr>")
        for reason, count in reasons.most_common():
            names = [
                t["nodeid"].split("::")[-1] for t in summary["not_run"] if t["reason"] == reason
            ]
            parts.append(
                f"<tr><td>{_e(reason)}</td><td>{count}: <small>{_e(', '.join(names))}</small>"
                "</td></tr>"
            )
        parts.append("</table>")
    if summary.get("units"):
        parts.append("<h2>Kiosk units</h2><p>The run was sharded over several kiosk units; ")
        parts.append("each scenario ran on the unit named here.</p><table>")
        parts.append("<tr><th>unit</th><th>results</th><th>scenarios</th></tr>")
        for name, unit in summary["units"].items():
            counts = ", ".join(f"{v} {_e(k)}" for k, v in sorted(unit["totals"].items()))
            ran = ", ".join(
                f"<span class='o-{_e(s['outcome'])}'>{_e(s['nodeid'].split('::')[-1])}</span>"
                for s in unit["scenarios"]
            )
            parts.append(f"<tr><td>{_e(name)}</td><td>{counts}</td><td><small>{ran}</small>")
            parts.append("</td></tr>")
        parts.append("</table>")
    parts.extend(_time_outs_html(summary.get("time_outs") or []))
    parts.append("<h2>By area</h2><table><tr><th>area</th><th>passed</th><th>failed</th>")
    parts.append("<th>other</th><th></th></tr>")
    for area, counts in summary["by_area"].items():
        ok = counts.get("passed", 0)
        bad = sum(counts.get(k, 0) for k in FAILED)
        total = sum(counts.values()) or 1
        other = total - ok - bad
        # bars are shares of the area's scenarios, 200 px for the whole area
        parts.append(
            f"<tr><td>{_e(area)}</td><td>{ok}</td><td>{bad}</td><td>{other}</td>"
            f"<td><span class='bar' style='width:{200 * ok // total}px'></span>"
            f"<span class='bar barf' style='width:{200 * bad // total}px'></span></td></tr>"
        )
    parts.append("</table>")
    req = summary["requirements"]
    parts.append("<h2>Requirement matrix</h2><p>")
    parts.append(", ".join(f"{v} {_e(k)}" for k, v in sorted(req["counts"].items())))
    parts.append("</p><table><tr><th>id</th><th>severity</th><th>requirement</th>")
    parts.append("<th>result</th><th>scenarios (evidence)</th></tr>")
    for row in req["matrix"]:
        links = []
        for s in row["scenarios"]:
            rel = _rel(s.get("evidence"), report_dir)
            name = s["nodeid"].split("::")[-1]
            label = f"<span class='o-{_e(s['outcome'])}'>{_e(name)}</span>"
            links.append(f"<a href='{_e(rel)}'>{label}</a>" if rel else label)
        parts.append(
            f"<tr><td>{_e(row['id'])}</td><td>{_e(row['severity'])}</td>"
            f"<td>{_e(row['statement'])}<br><small>{_e(row['source'])}</small></td>"
            f"<td class='o-{_e(row['result'])}'>{_e(row['result'])}</td>"
            f"<td>{'<br>'.join(links)}</td></tr>"
        )
    parts.append("</table>")
    if summary["trend"]:
        parts.append("<h2>Trend (previous runs)</h2><table>")
        parts.append("<tr><th>finished</th><th>plan</th><th>verdict</th><th>totals</th></tr>")
        for row in reversed(summary["trend"]):
            parts.append(
                f"<tr><td>{_e(row.get('at'))}</td><td>{_e(row.get('plan'))}</td>"
                f"<td>{_e(row.get('verdict'))}</td><td>{_e(row.get('totals'))}</td></tr>"
            )
        parts.append("</table>")
    versions = run.get("versions") or {}
    if versions:
        parts.append("<h2>Versions under test</h2><table>")
        for k, v in versions.items():
            parts.append(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>")
        parts.append("</table>")
    parts.append(load_reports_html(report_dir))  # docs/load.md: the load runs beside it
    parts.append("</body></html>")
    return "".join(parts)


def _plan_heading(run: dict[str, Any]) -> list[str]:
    """The plan's title (which test this is, for whom), the device, and the seed order."""
    parts = []
    if run.get("plan_title"):
        parts.append(f"<h2 class='plan-title'>{_e(run['plan_title'])}</h2>")
    device = run.get("device") or {}
    if device:
        shown = ", ".join(
            f"{k} {_e(device[k])}"
            for k in ("kind", "vendor", "model", "software_version", "build_hash", "url", "name")
            if device.get(k)
        )
        parts.append(f"<p class='meta'>device under test: {shown}</p>")
    order = run.get("order") or {}
    if order.get("out_of_order"):
        parts.append(
            f"<p class='verdict fail'>OUT OF ORDER: stage {_e(order.get('stage'))} ran before "
            f"the device passed {_e(', '.join(order.get('missing', [])))} (seed II.5)</p>"
        )
    elif order.get("stage"):
        parts.append(
            f"<p class='meta'>stage {_e(order['stage'])} in the order of tests (seed II.5)</p>"
        )
    return parts


def _time_outs_html(rows: list[dict[str, Any]]) -> list[str]:
    """Per scenario that waited: whether its time-outs ran in real time or test-mode time."""
    if not rows:
        return []
    parts = [
        "<h2>Time-outs</h2><p>How the kiosk's time-outs ran in each scenario that waited for "
        "one: on the rig clock, in the kiosk's test-mode time (POST /time) or in real time.</p>",
        "<table><tr><th>scenario</th><th>time</th></tr>",
    ]
    for row in rows:
        parts.append(
            f"<tr><td><code>{_e(row['nodeid'])}</code></td><td>{_e(row['time'])}</td></tr>"
        )
    parts.append("</table>")
    return parts


def now_stamp() -> str:
    """When the report was written (wall time: it stamps the report, it decides nothing)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def selftest_line(report_dir: Path) -> str:
    """How strong the suite is, when `rig selftest` left its matrix beside this report
    (reports/out/selftest next to reports/out/latest; docs/selftest.md); else nothing."""
    try:
        data = json.loads((report_dir.parent / "selftest" / "selftest.json").read_text("utf-8"))
        caught, pack = int(data["detected"]), int(data["defects"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return (
        f"<p class='meta'>detection power: <a href='../selftest/selftest.html'>{caught} of "
        f"{pack} defects of the selftest pack caught</a> ({_e(data.get('finished_at'))})</p>"
    )
