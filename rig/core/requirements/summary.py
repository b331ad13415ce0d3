"""Markdown views of the catalogue for docs/requirements.md (`python -m rig.core.requirements`)."""

from __future__ import annotations

from collections import Counter

from rig.core.requirements.model import Catalogue, Severity


def area_table(catalogue: Catalogue) -> str:
    """The table of areas with requirement counts per severity, as in docs/requirements.md."""
    lines = [
        "| area | title | critical | major | minor | total |",
        "|---|---|---:|---:|---:|---:|",
    ]
    totals: Counter[Severity] = Counter()
    for code, counts in catalogue.area_counts().items():
        cells = [str(counts[severity]) for severity in Severity]
        totals.update(counts)
        title = catalogue.areas[code].title
        lines.append(f"| `{code}` | {title} | {' | '.join(cells)} | {sum(counts.values())} |")
    cells = [str(totals[severity]) for severity in Severity]
    lines.append(f"| **all** | | {' | '.join(cells)} | {len(catalogue)} |")
    return "\n".join(lines)


def requirement_list(catalogue: Catalogue) -> str:
    """Every requirement, one line each, grouped by area."""
    out: list[str] = []
    for code, area in catalogue.areas.items():
        out.append(f"\n### {code}: {area.title}\n")
        for req in catalogue.by_area(code):
            out.append(f"- `{req.id}` ({req.severity}) {req.statement} [{req.source}]")
    return "\n".join(out).lstrip("\n")
