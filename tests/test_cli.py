"""End to end through the `minerals` command line, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from market.metrics import INDICATORS
from tests.conftest import minerals

ROOT = Path(__file__).resolve().parents[1]


def test_scenarios_lists_each_with_one_line():
    out = minerals("scenarios")
    assert out.returncode == 0
    for name in ("baseline", "dumping", "coordinated-response", "asset-grab", "ndpr"):
        line = next(x for x in out.stdout.splitlines() if x.strip().startswith(name + " "))
        assert len(line.split(None, 1)[1]) > 20  # a description follows the name


def test_run_writes_the_four_outputs_and_prints_a_summary(tmp_path):
    out = minerals(
        "run",
        "--scenario",
        "dumping",
        "--quarters",
        "16",
        "--seed",
        "3",
        "--set",
        "supplier.budget=1500",
        "--out",
        str(tmp_path / "r"),
    )
    assert out.returncode == 0, out.stderr
    assert "dumping (seed 3, 16 quarters)" in out.stdout
    assert "bankruptcies" in out.stdout
    files = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert files == ["agents.csv", "overview.png", "summary.json", "timeseries.csv"]

    ts = pd.read_csv(tmp_path / "r" / "timeseries.csv")
    assert list(ts.columns[: 1 + len(INDICATORS)]) == ["quarter", *INDICATORS]
    assert ts["quarter"].tolist() == list(range(1, 17))
    agents = pd.read_csv(tmp_path / "r" / "agents.csv")
    assert set(agents["kind"]) == {"producer", "recycler", "supplier", "government"}
    assert len(agents) == 16 * agents["agent"].nunique()
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["overrides"] == {"supplier.budget": 1500, "quarters": 16}
    assert set(INDICATORS) <= set(summary["final"])
    assert summary["metrics"]["bankruptcies_final"] == ts["bankruptcies"].iloc[-1]
    assert (tmp_path / "r" / "overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_inputs_give_byte_identical_files(tmp_path):
    for name in ("a", "b"):
        args = [
            "run",
            "--scenario",
            "alliance-fracture",
            "--seed",
            "5",
            "--out",
            str(tmp_path / name),
        ]
        assert minerals(*args).returncode == 0
    for f in ("timeseries.csv", "agents.csv", "summary.json", "overview.png"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nowhere"], "unknown scenario 'nowhere'"),
        (
            ["--set", "supplier.budgt=3"],
            "supplier.budgt: unknown key (did you mean supplier.budget?)",
        ),
        (
            ["--set", "supplier.budget=lots"],
            "supplier.budget: expected a number from 0 to 1e+06 (USD m), got 'lots'",
        ),
        (["--set", "alliance.cohesion=1.5"], "alliance.cohesion: expected a number from 0 to 1"),
        (["--set", "supplier.budget"], "--set 'supplier.budget': expected key=value"),
        (["--quarters", "0"], "quarters: expected a whole number from 1 to 400 (quarters), got 0"),
        (["--seed", "x"], "argument --seed: expected a whole number from 0 to 9223372036854775807"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    out_dir = tmp_path / "out"
    result = minerals("run", *args, "--out", str(out_dir))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minerals: error:")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert not out_dir.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--jobs", "0"],
        ["validate", "--seeds", "many"],
        ["calibrate", "--samples", "0"],
        ["calibrate", "--iterations", "-1"],
        ["sweep", "spec.toml", "--out", "x", "--batch-size", "0"],
    ],
)
def test_a_count_flag_below_its_least_value_is_refused_before_any_work(args):
    flag, value = args[-2], args[-1]
    least = 0 if flag == "--iterations" else 1
    result = minerals(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"{flag}: expected a whole number from {least}, got {value}" in result.stderr


def test_a_malformed_scenario_file_is_named_with_its_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('preset = "ndpr"\n\n[alliance\ncohesion = 0.5\n')
    result = minerals("run", "--scenario", str(bad), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "bad.toml: malformed TOML" in result.stderr and "line 3" in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_error_leaves_an_earlier_result_untouched(tmp_path):
    out_dir = tmp_path / "out"
    assert minerals("run", "--quarters", "4", "--out", str(out_dir)).returncode == 0
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    assert minerals("run", "--set", "nope=1", "--out", str(out_dir)).returncode == 2
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before


def test_listing_commands_do_not_load_the_model():
    """`minerals scenarios`, `keys` and `--help` answer without importing Mesa (about a second)."""
    probe = (
        "import sys; from experiments import cli; "
        "[cli.main([c]) for c in ('scenarios', 'keys', '--help')]; "
        "print('mesa' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_the_overview_chart_draws_the_floor_in_force_not_the_one_configured():
    import matplotlib.pyplot as plt

    from experiments.outputs import overview_figure
    from market.play import play

    floor = {"governments.US.floor_price": 110.0, "governments.US.floor_budget": 3000.0}
    for response, drawn in (("none", False), ("standing", True)):
        fig = overview_figure(play("dumping", 1, {"alliance.response": response, **floor}))
        labels = [line.get_label() for line in fig.axes[0].get_lines()]
        assert ("floor in force" in labels) is drawn, response
        plt.close(fig)


def test_run_plays_a_history_episode_and_its_variants_as_validation_does(tmp_path):
    """An episode's variant runs as `minerals validate` plays it: the floor-2025 episode's
    `dumping` variant with and without the US floor gives the measure its figure reads."""
    from experiments.history.episodes import load_episode
    from experiments.history.runner import Runner

    episode = ROOT / "market" / "scenarios" / "history" / "floor-2025.toml"
    for variant in ("dumping", "dumping-no-floor"):
        out = minerals(
            "run", "--episode", str(episode), "--variant", variant, "--out", str(tmp_path / variant)
        )
        assert out.returncode == 0, out.stderr
        ours = pd.read_csv(tmp_path / variant / "timeseries.csv")
        body = load_episode(episode).variants[variant]
        (theirs,) = Runner().play([(body.tree, body.changes, 1)])
        assert ours["price_allied"].tolist() == pytest.approx(
            theirs.series("price_allied").tolist()
        )
    floored = pd.read_csv(tmp_path / "dumping" / "timeseries.csv")
    bare = pd.read_csv(tmp_path / "dumping-no-floor" / "timeseries.csv")
    assert floored["floor_received"].sum() > 0 and bare["floor_received"].sum() == 0


def test_run_refuses_a_variant_the_episode_does_not_have(tmp_path):
    episode = ROOT / "market" / "scenarios" / "history" / "quota-2010.toml"
    out = minerals(
        "run", "--episode", str(episode), "--variant", "nope", "--out", str(tmp_path / "x")
    )
    assert out.returncode == 2 and not (tmp_path / "x").exists()
    assert out.stderr.strip().splitlines() == [
        f"minerals: error: --variant nope: {episode} has no such variant; one of base"
    ]
    alone = minerals("run", "--variant", "base")
    assert alone.returncode == 2 and "--variant: goes with --episode PATH" in alone.stderr


# --- outside values and the timeline ------------------------------------------------------------

FEED_EPISODE = ROOT / "market" / "scenarios" / "history" / "floor-2025.toml"
QUOTA_EVENT = (
    "--set supplier.quota_cut: scenario 'export-restriction' sets it again at quarter 8 "
    "(dominant supplier imposes an export quota"
)


def _short_timeline(tmp_path: Path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(
        'name = "short"\npreset = "ndpr"\n[[events]]\nquarter = 6\nlabel = "the game is cut short"'
        "\nset = { quarters = 8 }\n"
    )
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "export-restriction", "--set", "supplier.quota_cut=0.1"], QUOTA_EVENT),
        (
            [
                "--scenario",
                "export-restriction",
                "--set",
                "supplier.budget=900",
                "--set",
                "supplier.strategy=market",
            ],
            "--set supplier.strategy: scenario 'export-restriction' sets it again at quarter 8",
        ),
        (
            ["--scenario", "SHORT", "--quarters", "20"],
            # an event may not change quarters at all: the scenario itself is refused
            "events[1].set: quarters: acts only when the run is built",
        ),
        (
            [
                "--episode",
                str(FEED_EPISODE),
                "--variant",
                "feed",
                "--set",
                "supplier.capacity=90000",
            ],
            "--set supplier.capacity: scenario 'floor-2025' sets it again at quarter 2 (MP's "
            "concentrate no longer reaches Chinese refiners",
        ),
    ],
    ids=["quota-cut", "strategy", "quarters", "episode-variant"],
)
def test_a_value_for_a_key_an_event_changes_is_refused_naming_the_event(tmp_path, args, message):
    """The event would replace the value at its quarter while summary.json listed it as
    applied: refused with one line, status 2, and no folder, not even the default runs/NAME."""
    args = [str(_short_timeline(tmp_path)) if a == "SHORT" else a for a in args]
    result = minerals("run", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minerals: error: ")
    assert message in lines[0]
    assert not (tmp_path / "runs").exists()


def test_a_value_no_event_touches_is_applied_and_summary_json_lists_what_was_in_force(tmp_path):
    from market.play import play

    out = minerals(
        "run",
        "--scenario",
        "export-restriction",
        "--set",
        "supplier.budget=900",
        "--quarters",
        "12",
        "--out",
        str(tmp_path / "r"),
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["overrides"] == {"supplier.budget": 900, "quarters": 12}
    ours = pd.read_csv(tmp_path / "r" / "timeseries.csv")
    again = play("export-restriction", 1, summary["overrides"])  # the listed values replay it
    assert ours["price_allied"].tolist() == pytest.approx(again.series("price_allied").tolist())
    assert any("export quota" in e["text"] for e in summary["events"])  # the timeline still ran


def test_an_episode_variant_changing_a_key_its_own_event_changes_still_runs(tmp_path):
    """floor-2025's `feed` variant sets supplier.capacity from the start and its event lowers it
    at Q2: both are the episode, not outside values. A --set of another key joins them."""
    out = minerals(
        "run",
        "--episode",
        str(FEED_EPISODE),
        "--variant",
        "feed",
        "--set",
        "supplier.budget=900",
        "--out",
        str(tmp_path / "feed"),
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "feed" / "summary.json").read_text())
    assert summary["overrides"] == {
        "supplier.capacity": 87000.0,
        "quarters": 8,
        "supplier.budget": 900,
    }
