"""The report of a load run: reports/out/load-<time>/.

- `load.json`: the figures (transactions, throughput, latency percentiles per step, the
  judge's counts by kind, errors and refusals by kind, the verdict and why);
- `throughput.png`, `latency.png`, `steps.png`: throughput and latency percentiles over time
  and per step (open, auth, request, download, payment, complete…);
- `index.html`: one page with the figures and the plots;
- `locust_*.csv`: Locust's own statistics (requests, history, failures, exceptions).

The run fails (exit 1) on any cross-talk (a page naming someone else, pages of two
documents, a stranger's name), any lost or duplicated document, or an error rate above the
profile's threshold.
"""

from __future__ import annotations

import html
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from locust.stats import RequestStats

from rig.harness.load.tally import Totals

STEP_ORDER = (
    "open", "challenge", "auth", "pin", "menu", "request", "download", "judge", "payment",
    "complete", "transaction",
)  # fmt: skip
PERCENTILES = (0.5, 0.95, 0.99)


def _percentile(hist: Counter[int], q: float) -> float | None:
    total = sum(hist.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    return float(max(hist))


class Sampler:
    """Snapshots of Locust's cumulative statistics, to draw them over time."""

    def __init__(self, stats: RequestStats, interval: float):
        self.stats = stats
        self.interval = interval
        self.began = time.monotonic()
        self._last: dict[str, tuple[int, int, Counter[int]]] = {}
        self.series: list[dict[str, Any]] = []

    def sample(self, totals: Totals) -> None:
        now = time.monotonic() - self.began
        point: dict[str, Any] = {
            "t": round(now, 2),
            "entries": {},
            "judged": totals.counts["documents"],
        }
        for (name, method), entry in list(self.stats.entries.items()):
            key = f"{method} {name}"
            hist = Counter(entry.response_times)
            n, fails = entry.num_requests, entry.num_failures
            last_n, last_fails, last_hist = self._last.get(key, (0, 0, Counter()))
            delta = hist - last_hist
            point["entries"][key] = {
                "requests": n - last_n,
                "failures": fails - last_fails,
                **{f"p{int(q * 100)}": _percentile(delta, q) for q in PERCENTILES},
            }
            self._last[key] = (n, fails, hist)
        self.series.append(point)


def _steps(stats: RequestStats) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (name, method), entry in sorted(stats.entries.items()):
        out[f"{method} {name}"] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "median_ms": entry.median_response_time,
            "avg_ms": round(entry.avg_response_time, 1),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": entry.max_response_time,
        }
    return out


def _transaction_entry(stats: RequestStats) -> Any:
    for (name, method), entry in stats.entries.items():
        if name == "transaction" and method in ("KIOSK", "LGWAN"):
            return entry
    return None


def verdict(totals: Totals, threshold: float) -> list[str]:
    """Why the run fails (empty: it passes)."""
    reasons = []
    if totals.cross_talk():
        reasons.append(f"{totals.cross_talk()} cross-talk document(s)")
    if totals.duplicated:
        reasons.append(f"{totals.duplicated} duplicated document(s)")
    if totals.counts["lost"]:
        reasons.append(f"{totals.counts['lost']} lost document(s)")
    if totals.counts["bad_documents"]:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(totals.problems.items()))
        reasons.append(f"{totals.counts['bad_documents']} bad document(s) ({kinds})")
    shared = [r for r in totals.rounds if r["applicants"] != r["sessions"]]
    if shared:
        r = shared[0]
        reasons.append(
            f"{len(shared)} round(s) whose sessions were not all distinct applicants (round "
            f"{r['round']}: {r['sessions']} sessions, {r['applicants']} applicants)"
        )
    if totals.error_rate() > threshold:
        reasons.append(f"error rate {totals.error_rate():.2%} above {threshold:.2%}")
    if totals.counts["completed"] == 0 and totals.counts["refused"] == 0:
        reasons.append("no transaction completed")
    return reasons


def write_report(
    out: Path, run: dict[str, Any], totals: Totals, stats: RequestStats, sampler: Sampler
) -> int:
    out.mkdir(parents=True, exist_ok=True)
    threshold = float(run["profile"]["error_rate_threshold"])
    tx = _transaction_entry(stats)
    active = 0.0
    if tx is not None and tx.last_request_timestamp and tx.start_time:
        active = max(0.0, tx.last_request_timestamp - tx.start_time)
    completed = totals.counts["completed"]
    figures = {
        "transactions_completed": completed,
        "issuances_per_s": round(completed / active, 3) if active else 0.0,
        "active_s": round(active, 1),
        "p50_ms": tx.get_response_time_percentile(0.5) if tx else None,
        "p95_ms": tx.get_response_time_percentile(0.95) if tx else None,
        "p99_ms": tx.get_response_time_percentile(0.99) if tx else None,
    }
    figures.update(_round_figures(totals.rounds, completed))
    reasons = verdict(totals, threshold)
    document = {
        **run,
        "passed": not reasons,
        "reasons": reasons,
        "figures": figures,
        "judge": totals.as_dict(),
        "steps": _steps(stats),
        "series": sampler.series,
    }
    (out / "load.json").write_text(
        json.dumps(document, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    plots = _plots(out, sampler.series)
    (out / "index.html").write_text(_html(document, plots), encoding="utf-8")
    return 0 if not reasons else 1


def _round_figures(rounds: list[dict[str, Any]], completed: int) -> dict[str, Any]:
    """A rounds run's pace: a round lasts from its release to its last session's end (the
    slowest process's, when workers run rounds side by side)."""
    if not rounds:
        return {}
    longest: dict[int, float] = {}
    for r in rounds:
        longest[r["round"]] = max(longest.get(r["round"], 0.0), float(r["seconds"]))
    times = sorted(longest.values())
    total = sum(times)
    return {
        "rounds": len(times),
        "rounds_s": round(total, 1),
        "round_s_min": round(times[0], 1),
        "round_s_median": round(times[len(times) // 2], 1),
        "round_s_max": round(times[-1], 1),
        "issuances_per_s_over_rounds": round(completed / total, 3) if total else 0.0,
    }


def _plots(out: Path, series: list[dict[str, Any]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(series) < 2:
        return []
    times = [p["t"] for p in series]
    spans = [max(1e-6, b - a) for a, b in zip([0.0, *times], times, strict=False)]
    keys = sorted({k for p in series for k in p["entries"]})
    tx_keys = [k for k in keys if k.endswith(" transaction") and not k.startswith("REFUSED")]
    refused = [k for k in keys if k.startswith("REFUSED")]
    made: list[str] = []

    def per_s(*names: str) -> list[float]:
        return [
            sum(p["entries"].get(k, {}).get("requests", 0) for k in names) / s
            for p, s in zip(series, spans, strict=False)
        ]

    def at(key: str, figure: str) -> list[Any]:
        return [p["entries"].get(key, {}).get(figure) for p in series]

    def save(fig: Any, axes: list[Any], name: str, **legend: Any) -> None:
        for ax in axes:
            ax.set_xlabel("run time (s)")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(**legend)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        made.append(name)

    fig, ax = plt.subplots(figsize=(9, 4))
    for key in tx_keys:
        ax.plot(times, per_s(key), label=f"{key}/s")
    if refused:
        ax.plot(times, per_s(*refused), label="refused/s")
    ax.set_ylabel("per second")
    ax.set_title("Throughput")
    save(fig, [ax], "throughput.png")

    fig, ax = plt.subplots(figsize=(9, 4))
    for key in tx_keys:
        for q in ("p50", "p95", "p99"):
            ax.plot(times, at(key, q), label=f"{key} {q}")
    ax.set_ylabel("ms")
    ax.set_title("Transaction latency percentiles")
    save(fig, [ax], "latency.png")

    step_keys = [
        k for name in STEP_ORDER for k in keys
        if k.split(" ", 1)[1] == name != "transaction" and not k.startswith("REFUSED")
    ]  # fmt: skip
    if step_keys:
        fig, axes = plt.subplots(2, 1, figsize=(9, 7))
        for key in step_keys:
            axes[0].plot(times, at(key, "p99"), label=key)
            axes[1].plot(times, per_s(key), label=key)
        axes[0].set_title("p99 latency per step (ms)")
        axes[1].set_title("throughput per step (per s)")
        save(fig, list(axes), "steps.png", fontsize="small", ncol=3)
    return made


def _html(doc: dict[str, Any], plots: list[str]) -> str:
    e = html.escape
    judge = doc["judge"]
    rows = "".join(
        f"<tr><td>{e(k)}</td><td>{v['requests']}</td><td>{v['failures']}</td>"
        f"<td>{v['median_ms']}</td><td>{v['p95_ms']}</td><td>{v['p99_ms']}</td>"
        f"<td>{v['max_ms']}</td></tr>"
        for k, v in doc["steps"].items()
    )
    kinds = "".join(
        f"<tr><td>{e(group)}</td><td>{e(k)}</td><td>{v}</td></tr>"
        for group in ("documents_by_type", "problems", "errors", "refusals")
        for k, v in sorted(judge[group].items())
    )
    rounds = "".join(
        f"<tr><td>{r['round']}</td><td>{e(str(r.get('worker', 'local')))}</td>"
        f"<td>{r['sessions']}</td><td>{r['applicants']}</td><td>{r['seconds']}</td></tr>"
        for r in judge.get("rounds", [])
    )
    if rounds:
        rounds = (
            "<h2>Rounds (sessions released together)</h2><table><tr><th>round</th>"
            "<th>process</th><th>sessions</th><th>distinct applicants</th><th>seconds</th>"
            f"</tr>{rounds}</table>"
        )
    status = "PASSED" if doc["passed"] else "FAILED: " + "; ".join(doc["reasons"])
    figs = doc["figures"]
    images = "".join(f'<p><img src="{e(p)}" alt="{e(p)}"></p>' for p in plots)
    return f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>Load run: {e(str(doc.get("profile_name") or doc["profile"]["name"]))}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:2px 8px;border:1px solid #ccc}}
table{{border-collapse:collapse}}.bad{{color:#b00}}</style>
<h1>Load run: {e(doc["profile"]["name"])} ({e(doc["mode"])} mode, {e(doc["target"])})</h1>
<p class="{"" if doc["passed"] else "bad"}"><b>{e(status)}</b></p>
<p>{figs["transactions_completed"]} transactions completed in {figs["active_s"]} s:
{figs["issuances_per_s"]} issuances/s; transaction p50 {figs["p50_ms"]} ms, p95
{figs["p95_ms"]} ms, p99 {figs["p99_ms"]} ms. Documents judged: {judge["documents"]}
(bad: {judge["bad_documents"]}, cross-talk: {judge["cross_talk"]}, duplicated:
{judge["duplicated"]}, lost: {judge["lost"]}); failed transactions: {judge["failed"]}
(error rate {judge["error_rate"]:.2%}); refused (hours, closures): {judge["refused"]}.</p>
{images}
<h2>Steps</h2><table><tr><th>step</th><th>requests</th><th>failures</th><th>median ms</th>
<th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>{rows}</table>
{rounds}
<h2>Documents by type; problems, errors and refusals by kind</h2><table>{kinds}</table>
<p>Figures: load.json. Locust's statistics: locust_stats.csv, locust_stats_history.csv,
locust_failures.csv. Evidence of bad documents: evidence/.</p></html>
"""
