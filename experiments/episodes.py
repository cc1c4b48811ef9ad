"""Historical episodes as data: a scenario, the figures history recorded, and acceptance bands.

An episode file (TOML, `market/scenarios/history/*.toml`, format in docs/validation.md) names a
scenario, optional variants of it, and figures. Each figure says what to measure in a run (a
measure from `MEASURES` over quarters of the run), what was observed and where that number comes
from, and the band a simulated value must fall in. This module loads and checks episode files,
plays them over a list of seeds and reduces the runs to one simulated value per figure. Nothing
here knows about a particular episode: adding one is adding a file.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from market.metrics import COLUMNS
from market.scenarios import load_scenario, named_scenarios, presets
from market.schema import ScenarioError

HISTORY_DIR = Path(__file__).resolve().parents[1] / "market" / "scenarios" / "history"
ROLES = ("calibration", "validation")
STATS = ("median", "share")
UNITS = ("x", "%", "share", "quarters", "years", "USD m", "USD/kg", "t/yr", "")
BASE = "base"  # the name of the unvaried scenario among an episode's runs

# Series a figure can read besides the indicator and ledger columns of `timeseries()`.
DERIVED_SERIES = {
    "market_size": "consumption in both regions, t/yr (4 x the quarter's tonnes)",
    "retained_allied": "share of allied demand not yet substituted away",
    "retained_world": "share of rest-of-world demand not yet substituted away",
}
FIRM_COLUMNS = ("alive", "capacity", "cash", "debt", "sold", "expected_price")


class EpisodeError(ScenarioError):
    """An episode file that cannot be used; the message is one line naming file and field."""


# --- one run -------------------------------------------------------------------------------------


@dataclass
class Run:
    """What the figures need from one played scenario: quarterly series and per-firm panels.

    `series` maps a column to an array over quarters 1..n; `firms[column]` is an array of shape
    (quarters, firms) in `firm_ids` order; `started` holds the capital (USD m) of projects each
    firm started in each quarter.
    """

    series: dict[str, np.ndarray]
    firm_ids: list[str]
    firms: dict[str, np.ndarray]
    started: np.ndarray
    bankrupt_quarter: dict[str, int]

    @property
    def quarters(self) -> int:
        return len(self.series["quarter"])

    def firm(self, agent: str, column: str) -> np.ndarray:
        return self.firms[column][:, self.firm_ids.index(agent)]


def simulate(tree: Mapping[str, Any], overrides: Mapping[str, Any], seed: int) -> Run:
    """Play one scenario (a tree as in a scenario file) with dotted overrides and a seed."""
    from market.model import MineralMarket

    spec = load_scenario(tree, overrides)
    model = MineralMarket(spec, rng=seed)
    books = (model.producers, model.recyclers)
    ids = [name for book in books for name in book.ids]
    panels: dict[str, list[np.ndarray]] = {c: [] for c in FIRM_COLUMNS}
    started, retained = [], []
    while model.running:
        before = [book.ready_quarter.copy() for book in books]
        model.step()
        quarter = model.steps
        capex = []
        for book, ready in zip(books, before, strict=True):
            new = (book.ready_quarter != ready) & (book.ready_quarter > quarter)
            capex.append(np.where(new, book.building * book.capex / 1000.0, 0.0))
        started.append(np.concatenate(capex))
        for column in FIRM_COLUMNS:
            panels[column].append(
                np.concatenate([np.asarray(getattr(b, column), float) for b in books])
            )
        retained.append([model.demand.retained["allied"], model.demand.retained["world"]])
    ts = model.timeseries()
    series = {c: ts[c].to_numpy(dtype=float) for c in COLUMNS}
    series["market_size"] = 4.0 * (series["consumption_allied"] + series["consumption_world"])
    kept = np.array(retained, float).reshape(-1, 2)
    series["retained_allied"], series["retained_world"] = kept[:, 0], kept[:, 1]
    bankrupt = {
        name: int(q)
        for book in books
        for name, q in zip(book.ids, book.bankrupt_quarter, strict=True)
        if q > 0
    }
    return Run(
        series=series,
        firm_ids=ids,
        firms={c: np.array(v).reshape(len(started), len(ids)) for c, v in panels.items()},
        started=np.array(started).reshape(len(started), len(ids)),
        bankrupt_quarter=bankrupt,
    )


def _simulate_task(task: tuple[dict[str, Any], dict[str, Any], int]) -> Run:
    return simulate(*task)


def process_pool(jobs: int) -> Executor:
    """Worker processes for runs, started from a clean server process ("forkserver"): forking
    the caller directly is unsafe once it has threads (a progress bar's monitor, a web server)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("forkserver")
    )


@contextlib.contextmanager
def runner_for(jobs: int) -> Iterator[Runner]:
    """A Runner playing on `jobs` worker processes (in this process for one job), shut down
    when the block ends."""
    if jobs <= 1:
        yield Runner()
        return
    with process_pool(jobs) as pool:
        yield Runner(pool)


# --- measures ------------------------------------------------------------------------------------


def _window(run: Run, window: Sequence[int]) -> slice:
    first, last = int(window[0]), min(int(window[1]), run.quarters)
    return slice(first - 1, last)


def _series(run: Run, fig: Figure) -> np.ndarray:
    return run.series[fig.series]


def _mean(run: Run, fig: Figure) -> float:
    return float(_series(run, fig)[_window(run, fig.window)].mean())


def _max(run: Run, fig: Figure) -> float:
    return float(_series(run, fig)[_window(run, fig.window)].max())


def _min(run: Run, fig: Figure) -> float:
    return float(_series(run, fig)[_window(run, fig.window)].min())


def _ratio(run: Run, fig: Figure) -> float:
    s = _series(run, fig)
    return float(s[_window(run, fig.window)].mean() / s[_window(run, fig.base)].mean())


def _change(run: Run, fig: Figure) -> float:
    return _ratio(run, fig) - 1.0


def _peak(run: Run, fig: Figure) -> tuple[int, float]:
    s = _series(run, fig)
    part = s[_window(run, fig.window)]
    i = int(np.argmax(part))
    return fig.window[0] + i, float(part[i])


def _peak_ratio(run: Run, fig: Figure) -> float:
    return _peak(run, fig)[1] / float(_series(run, fig)[_window(run, fig.base)].mean())


def _peak_delay(run: Run, fig: Figure) -> float:
    return float(_peak(run, fig)[0] - fig.window[0])


def _after_peak(run: Run, fig: Figure) -> float:
    quarter, peak = _peak(run, fig)
    s = _series(run, fig)
    lo, hi = quarter + fig.lag[0], quarter + fig.lag[1]
    if lo > run.quarters:
        return math.nan
    return float(s[_window(run, (lo, hi))].mean() / peak)


def _per_year(run: Run, fig: Figure) -> float:
    s = _series(run, fig)
    first, last = fig.window[0], min(fig.window[1], run.quarters)
    years = (last - first) / 4.0
    scale = float(run.series[fig.per][_window(run, fig.window)].mean())
    return float((s[last - 1] - s[first - 1]) / years / scale)


def _max_loss_per_year(run: Run, fig: Figure) -> float:
    s = _series(run, fig)
    first, last = fig.window[0], min(fig.window[1], run.quarters)
    losses = [1.0 - s[q - 1] / s[q - 5] for q in range(max(first, 5), last + 1) if s[q - 5] > 0]
    return float(max(losses, default=0.0))


def _firm_first_investment(run: Run, fig: Figure) -> int | None:
    col = run.started[:, run.firm_ids.index(fig.agent)]
    sl = _window(run, fig.window)
    hits = np.flatnonzero(col[sl] > 0)
    return int(hits[0]) + fig.window[0] if hits.size else None


def _alive(run: Run, fig: Figure) -> float:
    last = min(fig.window[1], run.quarters)
    return float(run.firm(fig.agent, "alive")[last - 1] > 0)


def _bankrupt(run: Run, fig: Figure) -> float:
    q = run.bankrupt_quarter.get(fig.agent)
    return float(q is not None and fig.window[0] <= q <= fig.window[1])


def _bankrupt_quarter(run: Run, fig: Figure) -> float:
    return float(run.bankrupt_quarter.get(fig.agent, math.inf))


def _years_to_bankruptcy(run: Run, fig: Figure) -> float:
    start = _firm_first_investment(run, fig)
    end = run.bankrupt_quarter.get(fig.agent)
    if start is None:
        return math.nan
    return math.inf if end is None else (end - start) / 4.0


def _capex(run: Run, fig: Figure) -> float:
    col = run.started[:, run.firm_ids.index(fig.agent)]
    return float(col[_window(run, fig.window)].sum())


def _projects_while(run: Run, fig: Figure) -> float:
    col = run.started[:, run.firm_ids.index(fig.agent)]
    flag = run.series[fig.flag] > 0
    sl = _window(run, fig.window)
    return float(((col[sl] > 0) & flag[sl]).sum())


@dataclass(frozen=True)
class Measure:
    """A named way to reduce one run to a number; `needs` lists the figure keys it reads."""

    compute: Callable[[Run, Figure], float]
    needs: tuple[str, ...]
    doc: str


MEASURES: dict[str, Measure] = {
    "mean": Measure(_mean, ("series", "window"), "mean of `series` over `window`"),
    "max": Measure(_max, ("series", "window"), "highest value of `series` in `window`"),
    "min": Measure(_min, ("series", "window"), "lowest value of `series` in `window`"),
    "ratio": Measure(_ratio, ("series", "window", "base"), "mean over `window` / mean over `base`"),
    "change": Measure(
        _change, ("series", "window", "base"), "mean over `window` / mean over `base` - 1"
    ),
    "peak_ratio": Measure(
        _peak_ratio, ("series", "window", "base"), "highest value in `window` / mean over `base`"
    ),
    "peak_delay": Measure(
        _peak_delay,
        ("series", "window"),
        "quarters from the start of `window` to its highest value",
    ),
    "after_peak": Measure(
        _after_peak,
        ("series", "window", "lag"),
        "mean over the quarters `lag` after the peak in `window`, / the peak",
    ),
    "per_year": Measure(
        _per_year,
        ("series", "window", "per"),
        "change of `series` across `window`, per year, / mean of `per` over `window`",
    ),
    "max_loss_per_year": Measure(
        _max_loss_per_year,
        ("series", "window"),
        "largest fall of `series` over any four quarters in `window`, as a share",
    ),
    "alive": Measure(_alive, ("agent", "window"), "1 if firm `agent` is in business at the end"),
    "bankrupt": Measure(
        _bankrupt, ("agent", "window"), "1 if firm `agent` went bankrupt in `window`"
    ),
    "bankrupt_quarter": Measure(
        _bankrupt_quarter, ("agent",), "the quarter firm `agent` went bankrupt (never: inf)"
    ),
    "years_to_bankruptcy": Measure(
        _years_to_bankruptcy,
        ("agent", "window"),
        "years from the firm's first investment in `window` to its bankruptcy (never: inf)",
    ),
    "capex": Measure(
        _capex, ("agent", "window"), "USD m of projects firm `agent` started in `window`"
    ),
    "projects_while": Measure(
        _projects_while,
        ("agent", "window", "flag"),
        "projects firm `agent` started in `window` in quarters when `flag` was set",
    ),
}


# --- the file format -----------------------------------------------------------------------------


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
    head = _table(doc, "episode", where)
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
    for name, body in _table(doc, "variants", where, required=False).items():
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


def _table(doc: Mapping[str, Any], key: str, where: str, required: bool = True) -> dict:
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
    return [*COLUMNS, *DERIVED_SERIES]


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
    if "flag" in item and item["flag"] not in ("dumping", "response_active"):
        raise EpisodeError(f"{at}.flag: expected dumping or response_active, got {item['flag']!r}")
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
    if stat not in STATS:
        raise EpisodeError(f"{at}.stat: expected one of {', '.join(STATS)}, got {stat!r}")
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


# --- playing episodes ----------------------------------------------------------------------------


@dataclass
class FigureResult:
    figure: Figure
    values: list[float]  # one per seed

    @property
    def simulated(self) -> float:
        """The median over seeds (never-events count as infinite), or the share of seeds in
        which the measure was non-zero."""
        values = np.asarray(self.values, float)
        if self.figure.stat == "share":
            return float(np.mean(np.nan_to_num(values, nan=0.0) > 0))
        return float(np.median(np.where(np.isnan(values), np.inf, values)))

    @property
    def low(self) -> float:
        return float(np.min(np.where(np.isnan(self.values), np.inf, self.values)))

    @property
    def high(self) -> float:
        return float(np.max(np.where(np.isnan(self.values), np.inf, self.values)))

    @property
    def passed(self) -> bool:
        lo, hi = self.figure.band
        return bool(lo <= self.simulated <= hi)


@dataclass
class EpisodeResult:
    episode: Episode
    seeds: list[int]
    figures: list[FigureResult]
    runs: dict[str, list[Run]]  # variant -> one run per seed

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.figures if f.figure.scored)


def _key(tree: Mapping[str, Any], overrides: Mapping[str, Any]) -> str:
    blob = json.dumps([tree, overrides], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Runner:
    """Plays (scenario, overrides, seed) triples once each, in parallel when given an executor;
    episodes that share a scenario share its runs."""

    def __init__(self, executor: Executor | None = None) -> None:
        self.executor = executor
        self.cache: dict[tuple[str, int], Run] = {}

    def play(
        self,
        jobs: list[tuple[dict[str, Any], dict[str, Any], int]],
        progress: Callable[[int], None] | None = None,
    ) -> list[Run]:
        keys = [(_key(t, o), s) for t, o, s in jobs]
        todo: dict[tuple[str, int], tuple[dict[str, Any], dict[str, Any], int]] = {}
        for key, job in zip(keys, jobs, strict=True):
            if key not in self.cache:
                todo[key] = job
        if todo:
            tasks = list(todo.values())
            if self.executor is None:
                results = map(_simulate_task, tasks)
            else:
                results = self.executor.map(_simulate_task, tasks, chunksize=4)
            for key, run in zip(todo, results, strict=True):
                self.cache[key] = run
                if progress:
                    progress(1)
        return [self.cache[k] for k in keys]


def episode_jobs(
    episode: Episode, seeds: Sequence[int], overrides: Mapping[str, Any] | None = None
) -> list[tuple[str, tuple[dict[str, Any], dict[str, Any], int]]]:
    """(variant, job) pairs for every run the episode needs; `overrides` go on top of all."""
    out = []
    for name in episode.runs_needed():
        variant = episode.variants[name]
        changes = {**variant.changes, **dict(overrides or {})}
        for seed in seeds:
            out.append((name, (variant.tree, changes, int(seed))))
    return out


def play_episode(
    episode: Episode,
    seeds: Sequence[int],
    runner: Runner | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> EpisodeResult:
    """Play every run an episode needs over `seeds` and compute its figures."""
    runner = runner or Runner()
    jobs = episode_jobs(episode, seeds, overrides)
    played = runner.play([job for _, job in jobs], progress)
    runs: dict[str, list[Run]] = {}
    for (name, _job), run in zip(jobs, played, strict=True):
        runs.setdefault(name, []).append(run)
    figures = [
        FigureResult(fig, [fig.value(run) for run in runs[fig.run]]) for fig in episode.figures
    ]
    return EpisodeResult(episode, list(seeds), figures, runs)


def format_value(value: float, unit: str, stat: str = "median") -> str:
    """A figure's value as the table shows it."""
    if stat == "share":
        return f"{value:.0%} of seeds"
    if math.isinf(value):
        return "never"
    if math.isnan(value):
        return "n/a"
    if unit == "x":
        return f"{value:.1f}x"
    if unit == "%":
        return f"{value * 100:+.0f} %"
    if unit == "share":
        return f"{value * 100:.0f} %"
    if unit == "quarters":
        return f"{value:.0f} q"
    if unit == "years":
        return f"{value:.1f} yr"
    if unit == "USD m":
        return f"{value:,.0f} USD m"
    if unit == "USD/kg":
        return f"{value:.0f} USD/kg"
    if unit == "t/yr":
        return f"{value:,.0f} t/yr"
    return f"{value:.3g}"
