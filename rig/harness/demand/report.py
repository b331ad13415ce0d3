"""Summaries, PNG plots (matplotlib, Agg) and the HTML page of a demand run.

`write_report(out, summary, series, ...)` writes DIR/summary.json, DIR/*.png and
DIR/index.html. Nothing is written before the whole run has succeeded.
"""

from __future__ import annotations

import html
import json
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager

from rig.harness.demand.costs import year_costs
from rig.harness.demand.figures import Series, load_figures
from rig.harness.demand.grid import BIN_S, BINS_PER_DAY
from rig.harness.demand.model import Result
from rig.harness.demand.params import Municipality

#: municipality names are Japanese: IPAex Gothic (fonts-ipaexfont, scripts/setup.sh) first
_JAPANESE_FONTS = ("IPAexGothic", "IPAGothic", "Noto Sans CJK JP")


@cache
def use_japanese_font() -> None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    plt.rcParams["font.family"] = [f for f in _JAPANESE_FONTS if f in installed] + ["DejaVu Sans"]


def municipality_summary(m: Municipality, run: Result, expected: Result) -> dict[str, Any]:
    s = Series.of([run])
    copies_by_type = {k: round(float(v.sum())) for k, v in s.copies_by_type.items()}
    money = year_costs(
        copies_by_type, m.fees, kind=m.kind, population=m.population,
        offers_card_ap=m.offers_card_ap, costs=m.costs,
    )  # fmt: skip
    daily = s.daily(s.copies)
    return {
        "scale": "municipality",
        "municipality": m.name,
        "kind": m.kind,
        "population": m.population,
        "fiscal_year": m.fiscal_year,
        "method": f"{run.method} (simpy on the rig clock)",
        "issuances_per_year": round(float(s.copies.sum())),
        "applicants_per_year": round(float(s.issued.sum())),
        "expected_issuances_per_year": round(expected.total("copies"), 1),
        "copies_by_type": copies_by_type,
        "refused": round(float(s.refused.sum())),
        "came_back": round(float(s.came_back.sum())),
        "went_to_counter": round(float((s.refused - s.came_back).sum())),
        "issuances_per_day": {
            "mean": round(float(daily.mean()), 2),
            "max": round(float(daily.max()), 2),
            "busiest_day": s.grid.days[int(np.argmax(daily))].isoformat(),
        },
        **load_figures(s),
        "money": money.as_dict(),
    }


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path.name


def plots(out: Path, s: Series, title: str) -> list[str]:
    use_japanese_font()
    names = []
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.plot(np.asarray(s.grid.days, dtype="datetime64[D]"), s.daily(s.copies), lw=0.8)
    ax.set_title(f"{title}: copies issued per day")
    ax.set_ylabel("copies")
    names.append(_save(fig, out / "daily.png"))

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(range(24), s.hour_of_day_profile())
    ax.set_xticks(range(0, 24, 2))
    ax.set_title("applicants served per clock hour (mean over open days)")
    ax.set_xlabel("hour of day (JST)")
    names.append(_save(fig, out / "hourly.png"))

    months = s.monthly_copies()
    fig, ax = plt.subplots(figsize=(9, 3.4))
    bottom = np.zeros(len(months))
    for cert in s.copies_by_type:
        values = np.asarray([months[mo].get(cert, 0.0) for mo in months])
        ax.bar(list(months), values, bottom=bottom, label=cert)
        bottom += values
    ax.legend(fontsize=7)
    ax.set_title("copies per month by certificate")
    ax.tick_params(axis="x", labelsize=7, rotation=45)
    names.append(_save(fig, out / "monthly.png"))

    hourly = s.hourly(s.issued)[s.open_hours()]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ordered = np.sort(hourly)[::-1]
    ax.plot(ordered, lw=1)
    p99 = float(np.percentile(hourly, 99)) if len(hourly) else 0.0
    ax.axhline(p99, color="red", lw=0.8, label=f"99th percentile hour: {p99:.1f}")
    ax.set_title("load duration: applicants per open hour, sorted")
    ax.legend()
    names.append(_save(fig, out / "load.png"))
    return names


def money_plot(out: Path, money: dict[str, Any]) -> str:
    use_japanese_font()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels = ["fees", "commission", "burden", "maintenance", "counter saved", "net cost"]
    values = [
        money["fees_yen"], -money["commission_yen"], -money["burden_yen"],
        -(money["card_ap_maintenance_yen"] + money["server_maintenance_yen"]),
        money["counter_work_saved_yen"], -money["net_cost_yen"],
    ]  # fmt: skip
    ax.bar(labels, np.asarray(values) / 1e6, color=["g" if v >= 0 else "r" for v in values])
    ax.set_ylabel("million yen per year")
    ax.set_title("the year's money (+ in, − out)")
    ax.tick_params(axis="x", labelsize=8)
    return _save(fig, out / "money.png")


def what_if_plot(out: Path, base: Result, hit: Result, lo: int, title: str) -> str:
    use_japanese_font()
    hi = lo + BINS_PER_DAY
    hours = np.arange(BINS_PER_DAY) * BIN_S / 3600
    fig, ax = plt.subplots(figsize=(10, 3.4))
    ax.step(hours, base.series("issued")[lo:hi], where="post", lw=0.8, label="served, no incident")
    ax.step(hours, hit.series("issued")[lo:hi], where="post", lw=0.8, label="served, with it")
    ax.bar(hours, hit.series("refused")[lo:hi], width=BIN_S / 3600, color="r", alpha=0.5,
           align="edge", label="refused")  # fmt: skip
    for incident in hit.setup.incidents:
        start = (incident.start - base.grid.time_of(lo)) / timedelta(hours=1)
        end = (incident.end - base.grid.time_of(lo)) / timedelta(hours=1)
        ax.axvspan(max(start, 0), min(end, 24), color="grey", alpha=0.2)
    ax.set_xlim(0, 24)
    ax.set_xlabel("hour of day (JST); grey: incident")
    ax.set_ylabel("applicants per 5 min")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return _save(fig, out / "whatif.png")


def _rows(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows.extend(_rows(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            rows.append((prefix + key, json.dumps(value, ensure_ascii=False)))
        else:
            shown = (
                f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
            )
            rows.append((prefix + key, str(shown)))
    return rows


def write_report(out: Path, summary: dict[str, Any], images: list[str], title: str) -> None:
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    table = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _rows(summary)
    )
    figures = "\n".join(
        f'<p><img src="{html.escape(i)}" alt="{html.escape(i)}"></p>' for i in images
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:1em auto}}
th{{text-align:left;font-weight:normal;color:#555;padding-right:1em}}td{{font-family:monospace}}</style>
</head><body><h1>{html.escape(title)}</h1>
<p>Demand model of the konbini issuance rig (docs/demand.md). Figures below; every
number is also in <a href="summary.json">summary.json</a>.</p>
{figures}
<table>{table}</table></body></html>
"""
    (out / "index.html").write_text(page, encoding="utf-8")
