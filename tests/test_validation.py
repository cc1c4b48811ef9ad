"""Historical episodes: every one passes over the fixed seeds, the committed table is current,
new episode files run by path, and a bad episode file is one line and exit status 2."""

from pathlib import Path

import pytest

from experiments.cli.validate import DEFAULT_SEEDS
from experiments.history.episodes import EpisodeError, Figure, episode_paths, load_episode
from experiments.history.measures import MEASURES
from experiments.history.runner import Runner, play_episode
from experiments.history.validate import (
    DOC,
    DOC_CHARTS,
    TABLE_END,
    TABLE_START,
    validate,
    validation_table,
)
from market.play import play
from tests.conftest import minerals

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {"quota-2010", "boom-entrant", "floor-2025"}


@pytest.fixture(scope="module")
def results():
    """Every committed episode over the CLI's default seeds, 1..20, as `minerals validate`."""
    episodes = sorted(
        (load_episode(p) for p in episode_paths()),
        key=lambda e: (e.role != "calibration", e.name),
    )
    return validate(episodes, list(range(1, DEFAULT_SEEDS + 1)), jobs=2)


def test_every_episode_passes_over_the_twenty_fixed_seeds(results):
    assert {r.episode.name for r in results} >= REQUIRED
    failed = [
        f"{r.episode.name}/{f.figure.id}: {f.simulated} not in {f.figure.band}"
        for r in results
        for f in r.figures
        if f.figure.scored and not f.passed
    ]
    assert not failed
    roles = {r.episode.name: r.episode.role for r in results}
    assert roles["quota-2010"] == "calibration"
    assert roles["boom-entrant"] == roles["floor-2025"] == "validation"


def test_the_committed_table_and_charts_are_what_validate_gives_now(results):
    block = DOC.read_text().split(TABLE_START + "\n", 1)[1].split(TABLE_END, 1)[0].strip()
    assert block == validation_table(results)
    assert f"Seeds 1 to {DEFAULT_SEEDS} ({DEFAULT_SEEDS} runs per scenario)" in block
    for r in results:
        chart = DOC_CHARTS / f"{r.episode.name}.png"
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", chart


def test_every_figure_names_its_source_and_why_its_band(results):
    for r in results:
        for f in r.figures:
            fig = f.figure
            assert fig.source.strip() and fig.why.strip() and fig.observed_text.strip()
            assert fig.band[0] <= fig.band[1]
            if fig.scored and fig.stat == "median":
                assert fig.band[0] <= fig.observed <= fig.band[1], fig.id


def test_episodes_that_share_a_scenario_share_its_runs():
    quota = load_episode(ROOT / "market/scenarios/history/quota-2010.toml")
    boom = load_episode(ROOT / "market/scenarios/history/boom-entrant.toml")
    runner = Runner()
    first = play_episode(quota, [1, 2], runner)
    played = len(runner.cache)
    again = play_episode(boom, [1, 2], runner)
    assert len(runner.cache) == played + 2  # only its no-japan variant is new
    assert again.runs["base"][0] is first.runs["base"][0]
    # ... and a fresh runner plays the same numbers: all draws come from the seeds.
    fresh = play_episode(quota, [1, 2], Runner())
    assert [f.values for f in fresh.figures] == [f.values for f in first.figures]


EPISODE = """
[episode]
title = "Calm test market"
role = "validation"
scenario = "ndpr"

[[figures]]
id = "price"
label = "mean allied price"
measure = "mean"
series = "price_allied"
window = [1, 4]
unit = "USD/kg"
observed = 55.0
observed_text = "about 55"
source = "a test"
band = [{low}, {high}]
why = "a test"
"""


def test_validate_runs_just_the_episode_files_it_is_given(tmp_path):
    path = tmp_path / "calm.toml"
    path.write_text(EPISODE.format(low=40.0, high=80.0))
    out = tmp_path / "out"
    result = minerals("validate", str(path), "--seeds", "2", "--jobs", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Calm test market [validation]: pass" in result.stdout
    assert "2010-11 export quota" not in result.stdout
    table = (out / "validation.md").read_text()
    assert "| Calm test market (validation) | mean allied price |" in table
    assert "Seeds 1 to 2" in table
    assert not (out / "quota-2010.png").exists()


def test_an_episode_outside_its_band_exits_1(tmp_path):
    path = tmp_path / "tight.toml"
    path.write_text(EPISODE.format(low=1.0, high=2.0))
    result = minerals("validate", str(path), "--seeds", "1", "--jobs", "1", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "FAIL" in result.stdout


BAD = [
    ("[episode\n", "malformed TOML"),
    (
        EPISODE.format(low=40, high=80).replace('"mean"', '"average"'),
        "figures[1].measure: expected one of mean",
    ),
    (
        EPISODE.format(low=40, high=80).replace("band = [40, 80]\n", ""),
        "figures[1].band: expected [low, high]",
    ),
    (EPISODE.format(low=80, high=40), "figures[1].band: low 80 is above high 40"),
    (
        EPISODE.format(low=40, high=80).replace("[1, 4]", "[1, 99]"),
        "figures[1].window: expected [first, last] quarters with 1 <= first <= last <= 40",
    ),
    (
        EPISODE.format(low=40, high=80).replace('series = "price_allied"', 'series = "price_moon"'),
        "figures[1].series: 'price_moon' is not a series",
    ),
    (
        EPISODE.format(low=40, high=80).replace('role = "validation"', 'role = "test"'),
        "episode.role: expected one of calibration, validation",
    ),
    (
        EPISODE.format(low=40, high=80).replace('scenario = "ndpr"', 'scenario = "nowhere"'),
        "scenario: 'nowhere' is neither a file",
    ),
    (
        EPISODE.format(low=40, high=80) + '\n[variants.odd]\nset = { "supplier.budgt" = 1 }\n',
        "variants.odd: supplier.budgt: unknown key",
    ),
    (
        EPISODE.format(low=40, high=80).replace(
            'measure = "mean"', 'measure = "alive"\nagent = "ZZ-9"'
        ),
        "figures[1].agent: 'ZZ-9' is not a producer",
    ),
    (EPISODE.format(low=40, high=80) + "\n[extras]\nx = 1\n", "extras: unknown table"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_episode_file_is_one_line_naming_file_and_field(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(EpisodeError) as err:
        load_episode(path)
    assert message in str(err.value)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_the_cli_reports_a_bad_episode_file_in_one_line_and_exits_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(EPISODE.format(low=40, high=80).replace('"mean"', '"average"'))
    out = tmp_path / "out"
    result = minerals("validate", str(path), "--out", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minerals: error:")
    assert "bad.toml" in lines[0] and "measure" in lines[0]
    assert not out.exists()
    missing = minerals("validate", str(tmp_path / "nowhere.toml"))
    assert missing.returncode == 2 and "no such episode file" in missing.stderr


def test_the_measures_the_format_documents_are_the_ones_the_code_has():
    doc = DOC.read_text()
    for name in MEASURES:
        assert f"`{name}`" in doc, name


def test_a_historians_measures_read_firms_states_outputs_and_the_lag_between_events():
    """Measures for a firm's output and idle time, the lag between two kinds of event, and
    1 - x, on a run whose feed says what they must find."""
    run = play("dumping", 1, {"supplier.campaign_review": False})
    feed = run.model.feed

    def figure(measure, **keys):
        return Figure("f", "f", measure, 0.0, "-", "-", (0.0, 1.0), "-", **keys)

    first_idle = min(e.quarter for e in feed if e.kind == "idle" and e.who == "AU-1")
    restarted = min(e.quarter for e in feed if e.kind == "restart" and e.who == "AU-1")
    idle = figure("idle_quarters", agent="AU-1", window=(1, 40)).value(run)
    assert idle >= restarted - first_idle  # idle from the idling to the restart, then restarting
    alone_output = figure("output", agent="AU-1", window=(1, 4)).value(run)
    assert alone_output == pytest.approx(5000.0)  # its capacity, t/yr, before the war
    war = figure("output", agent="AU-1", window=(first_idle, first_idle + 1)).value(run)
    assert war == 0.0
    attack = min(e.quarter for e in feed if e.kind == "scenario")
    lag = figure("lag", event="scenario", until="idle", window=(1, 40)).value(run)
    assert lag == min(e.quarter for e in feed if e.kind == "idle") - attack
    assert figure("lag", event="quota", until="idle", window=(1, 40)).value(run) != lag  # none
    gone = figure("exited", agent="JP-1", window=(1, 40)).value(run)
    assert gone == float(not run.model.producers.alive[run.model.producers.ids.index("JP-1")])
    lost = figure("shortfall", series="allied_capacity", window=(40, 40), base=(1, 1)).value(run)
    capacity = run.series("allied_capacity")
    assert lost == pytest.approx(1.0 - capacity[-1] / capacity[0])
