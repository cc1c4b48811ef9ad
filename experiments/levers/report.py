"""Where results go: a folder with the effects as CSV and Markdown and the tornado chart, or
docs/levers.md with a section and a chart for every named scenario.

A folder's files are made in a hidden staging folder beside it, which takes its place in one
rename only when all are complete (`experiments.cli.paths`), so an error or a killed process
never leaves half a result or spoils an earlier one.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from experiments.cli.paths import Staging
from experiments.cli.paths import check_out as check_folder
from experiments.levers.analysis import (
    OUTCOMES,
    Analysis,
    LeverEffect,
    number,
    shown,
    shown_as_is,
)
from experiments.levers.design import ENDS
from experiments.levers.plots import tornado
from market.levers import CATALOG

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "levers.md"
DOC_CHARTS = ROOT / "docs" / "levers"
CATALOG_START, CATALOG_END = "<!-- lever-catalog:start -->", "<!-- lever-catalog:end -->"
RESULTS_START, RESULTS_END = "<!-- lever-effects:start -->", "<!-- lever-effects:end -->"
FILES = ("effects.csv", "as_is.csv", "levers.md", "tornado.png")


# --- checks before any work -------------------------------------------------------------------


def check_out(out: Path) -> None:
    """Raise ScenarioError, one line, unless `out` is a folder this command can write into
    (or create) and replace whole (`experiments.cli.paths.check_out`)."""
    check_folder(out, whole=FILES)


# --- tables ------------------------------------------------------------------------------------


def signed(x: float) -> str:
    """An effect: '+1,234', '-12.3', '+0.0123', '0'."""
    if math.isnan(x):
        return "n/a"
    if x == 0.0:
        return "0"
    return f"{x:+,.0f}" if abs(x) >= 1000 else f"{x:+.3g}"


def as_is_line(analysis: Analysis) -> str:
    parts = [f"{label} {number(analysis.as_is[o])} {unit}" for o, (label, unit) in OUTCOMES.items()]
    seeds = analysis.seeds
    return f"As it is (mean over seeds {seeds[0]} to {seeds[-1]}): " + "; ".join(parts) + "."


def _end_cell(effect: LeverEffect, end: str) -> str:
    e = effect.ends[end]
    own = " (its own value)" if e.own else ""
    return f"{end}: {shown(effect.lever, e.value)}{own}"


def markdown(analysis: Analysis) -> str:
    """The effects table: two rows a lever (its low and high end) or one for a lever with no
    effect, each outcome's change against the scenario as it is, and the notes."""
    header = ["lever", "end", *(f"{label}, {unit}" for label, unit in OUTCOMES.values()), "note"]
    lines = [
        as_is_line(analysis),
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for effect in analysis.levers:
        lever = effect.lever
        name = f"{lever.label} `{lever.key}` (as is: {shown_as_is(effect)})"
        note = "; ".join(effect.notes)
        if effect.no_effect:
            ends = f"{shown(lever, lever.low)} to {shown(lever, lever.high)}"
            cells = [name, ends, *("—" for _ in OUTCOMES), note]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
            continue
        for i, end in enumerate(ENDS):
            numbers = [signed(effect.ends[end].effect.get(o, math.nan)) for o in OUTCOMES]
            cells = [
                name if i == 0 else "",
                _end_cell(effect, end),
                *numbers,
                note if i == 0 else "",
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "/")


def effects_rows(analysis: Analysis) -> list[dict[str, object]]:
    """One row a lever end: what was set, and each outcome's change against the scenario as it
    is (named by the run metric it differences)."""
    rows = []
    for effect in analysis.levers:
        for end in ENDS:
            e = effect.ends[end]
            rows.append(
                {
                    "scenario": analysis.scenario,
                    "key": effect.lever.key,
                    "label": effect.lever.label,
                    "unit": effect.lever.unit,
                    "end": end,
                    "value": e.value,
                    "as_is": shown_as_is(effect),
                    "own_value": e.own,
                    "seeds": len(analysis.seeds),
                    **{o: e.effect.get(o, math.nan) for o in OUTCOMES},
                    "no_effect": effect.no_effect,
                    "note": "; ".join(effect.notes),
                }
            )
    return rows


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def catalog_table() -> str:
    """The lever catalog (market/levers.py) as docs/levers.md lists it."""
    lines = ["| key | low | high | what |", "| --- | --- | --- | --- |"]
    for lever in CATALOG:
        lines.append(
            f"| `{lever.key}` | {shown(lever, lever.low)} | {shown(lever, lever.high)} | "
            f"{lever.label} |"
        )
    return "\n".join(lines)


# --- outputs -----------------------------------------------------------------------------------


def write_report(analysis: Analysis, out: Path) -> None:
    """effects.csv, as_is.csv, levers.md and tornado.png into `out`, all at once."""
    staging = Staging(out)
    with staging as folder:
        _write_csv(folder / "effects.csv", effects_rows(analysis))
        as_is = {"scenario": analysis.scenario, "seeds": len(analysis.seeds), **analysis.as_is}
        _write_csv(folder / "as_is.csv", [as_is])
        title = f"# Levers in {analysis.scenario}\n\n{analysis.description}\n\n"
        (folder / "levers.md").write_text(
            title + markdown(analysis) + "\n\n![tornado](tornado.png)\n"
        )
        tornado(analysis, folder / "tornado.png")
        staging.commit()


def doc_sections(analyses: Sequence[Analysis]) -> str:
    """Every scenario's section of docs/levers.md."""
    parts = []
    for analysis in analyses:
        parts += [
            f"### {analysis.scenario}",
            "",
            analysis.description,
            "",
            markdown(analysis),
            "",
            f"![What each lever does in {analysis.scenario}](levers/{analysis.scenario}.png)",
            "",
        ]
    return "\n".join(parts).rstrip()


def update_docs(analyses: Sequence[Analysis], command: str) -> None:
    """Put the catalog and every scenario's section between the markers of docs/levers.md,
    and each scenario's tornado chart in docs/levers/."""
    text = DOC.read_text()
    text = _between(text, CATALOG_START, CATALOG_END, catalog_table())
    made = f"Made by `{command}`.\n\n{doc_sections(analyses)}"
    text = _between(text, RESULTS_START, RESULTS_END, made)
    DOC_CHARTS.mkdir(exist_ok=True)
    for analysis in analyses:
        tornado(analysis, DOC_CHARTS / f"{analysis.scenario}.png")
    DOC.write_text(text)


def _between(text: str, start: str, end: str, body: str) -> str:
    head, found, rest = text.partition(start + "\n")
    if not found or end not in rest:
        raise RuntimeError(f"{DOC}: the markers {start} and {end} are missing")
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{body}\n{end}{tail}"


def text_summary(analysis: Analysis) -> str:
    """A scenario in a few lines for the terminal: how many levers moved its outcomes, and
    those that did not, with why."""
    levers = analysis.levers
    still = [e for e in levers if e.no_effect]
    seeds = analysis.seeds
    lines = [
        f"{analysis.scenario} (seeds {seeds[0]} to {seeds[-1]}): "
        f"{len(levers) - len(still)} of {len(levers)} levers change its outcomes"
    ]
    lines += [f"  {e.lever.key}: {e.notes[0]}" for e in still]
    return "\n".join(lines)
