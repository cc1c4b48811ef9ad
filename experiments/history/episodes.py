"""Historical episodes as data: the episode file format, loaded and checked.

An episode file (TOML, `market/scenarios/history/*.toml`, format in docs/validation.md) names a
scenario, optional variants of it, and figures. Each figure says what to measure in a run (a
measure from `experiments/history/measures.py` over quarters of the run), what was observed and
where that number comes from, and the band a simulated value must fall in; charts say what to
draw. Everything is checked on load, so a bad file is one line naming the file and field.
Nothing here knows about a particular episode: adding one is adding a file.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.history.measures import MEASURES
from market.feed import KINDS
from market.metrics import COLUMNS, FLAGS, SERIES
from market.recorder import FIRM_COLUMNS
from market.scenarios import load_scenario, named_scenarios, presets
from market.schema import ScenarioError

if TYPE_CHECKING:
    from market.play import Run

HISTORY_DIR = Path(__file__).resolve().parents[2] / "market" / "scenarios" / "history"
ROLES = ("calibration", "validation")
FIGURE_STATS = ("median", "share")  # over seeds: the median value, or the share of seeds hit
UNITS = ("x", "%", "share", "quarters", "years", "USD m", "USD/kg", "t/yr", "")
BASE = "base"  # the name of the unvaried scenario among an episode's runs


class EpisodeError(ScenarioError):
    """An episode file that cannot be used; the message is one line naming file and field."""


@dataclass
class Figure:
    """One observed figure of an episode and how a run is compared with it."""

    id: str
    label: str
    measure: str
    observed: float
    observed_text: str
    source: str
    band: tuple[float, float]
    why: str
    run: str = BASE
    stat: str = "median"
    unit: str = ""
    scored: bool = True
    series: str = ""
    agent: str = ""
    flag: str = ""
    per: str = ""
    event: str = ""  # a feed entry's kind, for `lag`
    until: str = ""  # the later feed entry's kind, for `lag`
    window: tuple[int, int] = (1, 400)
    base: tuple[int, int] = (1, 1)
    lag: tuple[int, int] = (0, 0)

    def value(self, run: Run) -> float:
        return MEASURES[self.measure].compute(run, self)


@dataclass
class Chart:
    """One panel of an episode's chart: a simulated series as a band over seeds, with the
    observed points drawn over it."""

    title: str
    run: str = BASE
    series: str = ""
    agent: str = ""
    column: str = ""
    normalise: tuple[int, int] | None = None
    points: list[tuple[float, float, str]] = field(default_factory=list)
    ylabel: str = ""
    log: bool = False
    marks: list[tuple[float, str]] = field(default_factory=list)


@dataclass
class Variant:
    """One way to play an episode's scenario: the scenario tree (with any added events), dotted
    keys changed from the start, and the scenario as loaded, for checking figures against."""

    label: str
    tree: dict[str, Any]
    changes: dict[str, Any]
    params: dict[str, Any]


@dataclass
class Episode:
    path: Path
    name: str
    title: str
    role: str
    period: str
    summary: str
    variants: dict[str, Variant]  # BASE is the scenario as written
    figures: list[Figure]
    charts: list[Chart]

    def runs_needed(self) -> list[str]:
        wanted = {f.run for f in self.figures} | {c.run for c in self.charts}
        return [v for v in self.variants if v in wanted]


_EPISODE_KEYS = {"episode", "scenario", "variants", "figures", "charts"}
_FIGURE_KEYS = {
    "id",
    "label",
    "measure",
    "observed",
    "observed_text",
    "source",
    "band",
    "why",
    "run",
    "stat",
    "unit",
    "scored",
    "series",
    "agent",
    "flag",
    "per",
    "event",
    "until",
    "window",
    "base",
    "lag",
}
_CHART_KEYS = {
    "title",
    "run",
    "series",
    "agent",
    "column",
    "normalise",
    "points",
    "ylabel",
    "log",
    "marks",
}


def episode_paths(paths: Iterable[str | Path] = ()) -> list[Path]:
    """The episode files to run: those given, or every `*.toml` directly in the history folder."""
    given = [Path(p) for p in paths]
    if given:
        return given
    return sorted(HISTORY_DIR.glob("*.toml"))


def load_episode(path: str | Path) -> Episode:
    """Read and check one episode file; every problem is an EpisodeError naming file and field."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise EpisodeError(f"{where}: no such episode file")
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise EpisodeError(f"{where}: malformed TOML: {err}") from None
    return episode_from_doc(doc, path)


def episode_from_doc(doc: Mapping[str, Any], path: Path, where: str | None = None) -> Episode:
    """An episode from its parsed TOML; `path` places relative scenario files and names it,
    `where` is how error messages name it (the path by default)."""
    path = Path(path)
    where = where or str(path)
    extra = sorted(set(doc) - _EPISODE_KEYS)
    if extra:
        raise EpisodeError(
            f"{where}: {extra[0]}: unknown table; allowed: {', '.join(sorted(_EPISODE_KEYS))}"
        )
    head = _subtable(doc, "episode", where)
    title = _text(head, "title", f"{where}: episode")
    role = head.get("role")
    if role not in ROLES:
        raise EpisodeError(
            f"{where}: episode.role: expected one of {', '.join(ROLES)}, got {role!r}"
        )
    if ("scenario" in doc) == ("scenario" in head):
        raise EpisodeError(
            f"{where}: scenario: give it once, as episode.scenario (a file beside the episode, a "
            "named scenario or a preset) or as a [scenario] table"
        )
    tree = _scenario_tree(doc.get("scenario", head.get("scenario")), path)
    try:
        base = load_scenario(tree)
    except ScenarioError as err:
        raise EpisodeError(f"{where}: scenario: {err}") from None

    variants = {BASE: Variant("as in the scenario", tree, {}, base.params)}
    for name, body in _subtable(doc, "variants", where, required=False).items():
        variants[name] = _variant(tree, name, body, where)

    figures = [
        _figure(item, i, where, variants)
        for i, item in enumerate(_list(doc, "figures", where), start=1)
    ]
    if not figures:
        raise EpisodeError(f"{where}: figures: an episode needs at least one [[figures]] entry")
    ids = [f.id for f in figures]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise EpisodeError(f"{where}: figures: id {dup!r} is used twice")
    charts = [
        _chart(item, i, where, variants)
        for i, item in enumerate(_list(doc, "charts", where, required=False), start=1)
    ]
    return Episode(
        path=path,
        name=str(head.get("name", path.stem)),
        title=title,
        role=role,
        period=str(head.get("period", "")),
        summary=str(head.get("summary", "")),
        variants=variants,
        figures=figures,
        charts=charts,
    )


def _subtable(doc: Mapping[str, Any], key: str, where: str, required: bool = True) -> dict:
    value = doc.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise EpisodeError(f"{where}: {key}: expected a [{key}] table")
    return value


def _list(doc: Mapping[str, Any], key: str, where: str, required: bool = True) -> list:
    value = doc.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise EpisodeError(f"{where}: {key}: expected a list of [[{key}]] tables")
    return value


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EpisodeError(f"{where}.{key}: expected a non-empty string")
    return value


def _scenario_tree(value: Any, path: Path) -> dict[str, Any]:
    """The episode's scenario: a table (a scenario written inline), or a string naming a
    scenario file relative to the episode file, a named scenario or a preset."""
    where = f"{path}: scenario"
    if isinstance(value, dict):
        return copy.deepcopy(value)
    if not isinstance(value, str) or not value:
        raise EpisodeError(
            f"{where}: expected a [scenario] table or the name or path of a scenario file"
        )
    local = path.parent / value
    if local.is_file():
        try:
            with open(local, "rb") as f:
                tree = tomllib.load(f)
        except tomllib.TOMLDecodeError as err:
            raise EpisodeError(f"{local}: malformed TOML: {err}") from None
        tree.setdefault("name", local.stem)
        return tree
    if value in named_scenarios() or value in presets():
        return {"preset": value} if value in presets() else _named(value)
    raise EpisodeError(
        f"{where}: {value!r} is neither a file beside the episode nor a named scenario or preset"
    )


def _named(name: str) -> dict[str, Any]:
    with open(named_scenarios()[name], "rb") as f:
        return tomllib.load(f)


def _variant(tree: dict[str, Any], name: str, body: Any, where: str) -> Variant:
    """A variant is the episode's scenario with dotted keys changed from the start (`set`) and
    events added (`events`, as in a scenario file)."""
    at = f"{where}: variants.{name}"
    if name == BASE:
        raise EpisodeError(f"{at}: the name {BASE!r} is the unvaried scenario; choose another")
    if not isinstance(body, dict):
        raise EpisodeError(f"{at}: expected a table with label, set and events")
    extra = sorted(set(body) - {"label", "set", "events"})
    if extra:
        raise EpisodeError(f"{at}.{extra[0]}: unknown key; allowed: label, set, events")
    changes = body.get("set", {})
    if not isinstance(changes, dict):
        raise EpisodeError(f"{at}.set: expected a table of dotted keys and values")
    events = body.get("events", [])
    if not isinstance(events, list):
        raise EpisodeError(f"{at}.events: expected a list of event tables")
    varied = copy.deepcopy(tree)
    varied["events"] = [*varied.get("events", []), *copy.deepcopy(events)]
    try:
        spec = load_scenario(varied, changes)
    except ScenarioError as err:
        raise EpisodeError(f"{at}: {err}") from None
    return Variant(str(body.get("label", name)), varied, dict(changes), spec.params)


def _quarters(value: Any, at: str, last: int) -> tuple[int, int]:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 1 <= value[0] <= value[1] <= last
    )
    if not ok:
        raise EpisodeError(
            f"{at}: expected [first, last] quarters with 1 <= first <= last <= {last}, "
            f"got {value!r}"
        )
    return int(value[0]), int(value[1])


def _number(value: Any, at: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EpisodeError(f"{at}: expected a number, got {value!r}")
    return float(value)


def _series_names() -> list[str]:
    return [*COLUMNS, *SERIES]


def _firm_ids(params: Mapping[str, Any]) -> list[str]:
    return [*params.get("producers", {}), *params.get("recyclers", {})]


def _figure(item: dict[str, Any], i: int, where: str, variants: Mapping[str, Variant]) -> Figure:
    at = f"{where}: figures[{i}]"
    extra = sorted(set(item) - _FIGURE_KEYS)
    if extra:
        raise EpisodeError(
            f"{at}.{extra[0]}: unknown key; allowed: {', '.join(sorted(_FIGURE_KEYS))}"
        )
    run = item.get("run", BASE)
    if run not in variants:
        raise EpisodeError(f"{at}.run: expected one of {', '.join(variants)}, got {run!r}")
    params = variants[run].params
    for key in ("id", "label", "observed_text", "source", "why"):
        _text(item, key, at)
    measure = item.get("measure")
    if measure not in MEASURES:
        raise EpisodeError(f"{at}.measure: expected one of {', '.join(MEASURES)}, got {measure!r}")
    last = int(params["quarters"])
    kwargs: dict[str, Any] = {}
    for key in MEASURES[measure].needs:
        if key not in item:
            raise EpisodeError(f"{at}.{key}: missing; measure {measure!r} needs it")
    for key in ("window", "base", "lag"):
        if key in item:
            if key == "lag":
                lag = item[key]
                if not (
                    isinstance(lag, list)
                    and len(lag) == 2
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in lag)
                    and 0 <= lag[0] <= lag[1]
                ):
                    raise EpisodeError(
                        f"{at}.lag: expected [first, last] quarters after the peak, "
                        f"0 <= first <= last, got {lag!r}"
                    )
                kwargs[key] = (lag[0], lag[1])
            else:
                kwargs[key] = _quarters(item[key], f"{at}.{key}", last)
    if "window" not in kwargs:
        kwargs["window"] = (1, last)
    for key, allowed in (("series", _series_names()), ("per", _series_names())):
        if key in item and item[key] not in allowed:
            raise EpisodeError(
                f"{at}.{key}: {item[key]!r} is not a series; allowed: {', '.join(allowed)}"
            )
    if "flag" in item and item["flag"] not in FLAGS:
        raise EpisodeError(f"{at}.flag: expected one of {', '.join(FLAGS)}, got {item['flag']!r}")
    for key in ("event", "until"):
        if key in item and item[key] not in KINDS:
            raise EpisodeError(
                f"{at}.{key}: {item[key]!r} is not a kind of feed entry; allowed: "
                f"{', '.join(KINDS)}"
            )
    if "agent" in item and item["agent"] not in _firm_ids(params):
        raise EpisodeError(
            f"{at}.agent: {item['agent']!r} is not a producer or recycler of the scenario; "
            f"allowed: {', '.join(_firm_ids(params))}"
        )
    band = item.get("band")
    if not (isinstance(band, list) and len(band) == 2):
        raise EpisodeError(f"{at}.band: expected [low, high], got {band!r}")
    low, high = _number(band[0], f"{at}.band"), _number(band[1], f"{at}.band")
    if low > high:
        raise EpisodeError(f"{at}.band: low {low:g} is above high {high:g}")
    stat = item.get("stat", "median")
    if stat not in FIGURE_STATS:
        raise EpisodeError(f"{at}.stat: expected one of {', '.join(FIGURE_STATS)}, got {stat!r}")
    unit = item.get("unit", "")
    if unit not in UNITS:
        raise EpisodeError(
            f"{at}.unit: expected one of {', '.join(map(repr, UNITS))}, got {unit!r}"
        )
    scored = item.get("scored", True)
    if not isinstance(scored, bool):
        raise EpisodeError(f"{at}.scored: expected true or false, got {scored!r}")
    return Figure(
        id=item["id"],
        label=item["label"],
        measure=measure,
        observed=_number(item.get("observed"), f"{at}.observed"),
        observed_text=item["observed_text"],
        source=item["source"],
        band=(low, high),
        why=item["why"],
        run=run,
        stat=stat,
        unit=unit,
        scored=scored,
        series=str(item.get("series", "")),
        agent=str(item.get("agent", "")),
        flag=str(item.get("flag", "")),
        per=str(item.get("per", "")),
        event=str(item.get("event", "")),
        until=str(item.get("until", "")),
        **kwargs,
    )


def _chart(item: dict[str, Any], i: int, where: str, variants: Mapping[str, Variant]) -> Chart:
    at = f"{where}: charts[{i}]"
    extra = sorted(set(item) - _CHART_KEYS)
    if extra:
        raise EpisodeError(
            f"{at}.{extra[0]}: unknown key; allowed: {', '.join(sorted(_CHART_KEYS))}"
        )
    title = _text(item, "title", at)
    run = item.get("run", BASE)
    if run not in variants:
        raise EpisodeError(f"{at}.run: expected one of {', '.join(variants)}, got {run!r}")
    params = variants[run].params
    series, agent, column = item.get("series", ""), item.get("agent", ""), item.get("column", "")
    if bool(series) == bool(agent):
        raise EpisodeError(f"{at}: give either series, or agent and column")
    if series and series not in _series_names():
        raise EpisodeError(f"{at}.series: {series!r} is not a series")
    if agent and agent not in _firm_ids(params):
        raise EpisodeError(f"{at}.agent: {agent!r} is not a producer or recycler of the scenario")
    if agent and column not in FIRM_COLUMNS:
        raise EpisodeError(
            f"{at}.column: expected one of {', '.join(FIRM_COLUMNS)}, got {column!r}"
        )
    last = int(params["quarters"])
    normalise = (
        _quarters(item["normalise"], f"{at}.normalise", last) if "normalise" in item else None
    )
    points = []
    for j, p in enumerate(item.get("points", []), start=1):
        if not (isinstance(p, list) and len(p) == 3 and isinstance(p[2], str)):
            raise EpisodeError(f'{at}.points[{j}]: expected [quarter, value, "label"], got {p!r}')
        points.append(
            (_number(p[0], f"{at}.points[{j}]"), _number(p[1], f"{at}.points[{j}]"), p[2])
        )
    marks = []
    for j, m in enumerate(item.get("marks", []), start=1):
        if not (isinstance(m, list) and len(m) == 2 and isinstance(m[1], str)):
            raise EpisodeError(f'{at}.marks[{j}]: expected [quarter, "label"], got {m!r}')
        marks.append((_number(m[0], f"{at}.marks[{j}]"), m[1]))
    log = item.get("log", False)
    if not isinstance(log, bool):
        raise EpisodeError(f"{at}.log: expected true or false, got {log!r}")
    return Chart(
        title=title,
        run=run,
        series=series,
        agent=agent,
        column=column,
        normalise=normalise,
        points=points,
        ylabel=str(item.get("ylabel", "")),
        log=log,
        marks=marks,
    )
