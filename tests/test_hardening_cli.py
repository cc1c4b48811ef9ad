"""Every bad input to `minerals` refused cleanly (one line on stderr, exit status 2, nothing
written or changed), and a run's files written whole: all of them or none, never two runs'
files side by side."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.outputs import OUTPUT_FILES
from tests.conftest import ROOT, minerals

SPECS = ROOT / "experiments" / "specs"


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under `folder` (hidden ones too) with its bytes."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def assert_refused(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status 2, exactly one line on stderr naming the problem, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("minerals: error:"), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# --- seeds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", str(2**63), "1.5", "x", "", " ", "1e3"])
def test_a_seed_that_is_not_a_whole_number_from_0_to_2_63_minus_1_is_refused(tmp_path, seed):
    before = snapshot(tmp_path)
    result = minerals("run", "--seed", seed, "--quarters", "1", "--out", str(tmp_path / "out"))
    assert_refused(result, "--seed", "expected a whole number from 0 to 9223372036854775807")
    assert snapshot(tmp_path) == before


def test_the_largest_seed_and_seed_0_are_played(tmp_path):
    for seed in ("0", str(2**63 - 1)):
        out = tmp_path / seed
        result = minerals("run", "--seed", seed, "--quarters", "1", "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert f"(seed {seed}, 1 quarters)" in result.stdout
        assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)


# --- --out -----------------------------------------------------------------------------------


def bad_outs(tmp_path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(--out, words its refusal names) for folders no command can write into."""
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    return [
        ("", ("--out", "empty")),
        ("   ", ("--out", "empty")),
        (str(taken), ("is a file; expected a folder",)),
        (str(taken / "sub"), (f"{taken} is a file",)),
        (str(tmp_path / ("n" * 300)), ("300 bytes long; at most 255",)),
        (str(tmp_path / "/".join(["d" * 200] * 21)), ("path is too long",)),
        ("/proc/minerals-test-out", ("cannot write in /proc",)),
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--quarters", "1"],
        ["levers", "--seeds", "1", "--jobs", "1"],
        ["validate", "--seeds", "1", "--jobs", "1"],
        ["calibrate", "--samples", "1", "--iterations", "0", "--jobs", "1"],
        ["sweep", str(SPECS / "coordination-delay.toml"), "--workers", "1"],
    ],
    ids=lambda c: c[0],
)
def test_an_out_no_command_can_write_into_is_refused_before_any_work(tmp_path, command):
    cases = bad_outs(tmp_path)
    before = snapshot(tmp_path)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for out, words in cases:
        result = minerals(*command, "--out", out, cwd=cwd)
        assert_refused(result, *words)
        assert result.stdout == "", result.stdout  # refused before anything ran
        assert snapshot(tmp_path) == {**before, "cwd": None}, out
    assert not Path("/proc/minerals-test-out").exists()


def test_a_run_out_holding_other_files_is_refused_not_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    result = minerals("run", "--quarters", "1", "--out", str(out))
    assert_refused(result, "holds files that are not a run's (notes.txt)")
    assert snapshot(out) == {"notes.txt": b"my notes"}


def test_a_full_file_system_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    from experiments import cli

    full = shutil.disk_usage(tmp_path)._replace(free=100 * 1024)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: full)
    monkeypatch.setattr("market.play.play", lambda *a, **k: pytest.fail("the run started"))
    assert cli.main(["run", "--quarters", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"minerals: error: --out {tmp_path / 'out'}: only 100 KB free on its file system; "
        "at least 16 MB are needed"
    ]
    assert snapshot(tmp_path) == {}


def test_a_disk_that_fills_up_while_writing_leaves_the_earlier_run_whole(
    tmp_path, monkeypatch, capsys
):
    from experiments import cli, outputs

    out = tmp_path / "out"
    assert cli.main(["run", "--quarters", "2", "--out", str(out)]) == 0
    before = snapshot(tmp_path)
    real = outputs.write_files

    def fills_up(run, folder):
        real(run, folder)  # every file written, then the last one does not fit
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs, "write_files", fills_up)
    capsys.readouterr()
    assert cli.main(["run", "--quarters", "3", "--out", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"minerals: error: --out {out}: could not write the results (No space left on device); "
        "nothing was written"
    ]
    assert snapshot(tmp_path) == before  # no staging folder either


# --- written whole ---------------------------------------------------------------------------

# A `minerals run` that dies (SIGKILL: no clean-up of any kind) while it writes its files: after
# the first file, or with three of the four written.
KILLED = """
import os, signal, sys
from experiments import outputs
from experiments.cli import main

after = sys.argv[1]
if after == "first":
    import pandas as pd
    real = pd.DataFrame.to_csv
    def to_csv(self, path, *a, **k):
        real(self, path, *a, **k)
        os.kill(os.getpid(), signal.SIGKILL)
    pd.DataFrame.to_csv = to_csv
else:
    outputs.overview = lambda run, path: os.kill(os.getpid(), signal.SIGKILL)
main(sys.argv[2:])
"""


def killed_run(after: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", KILLED, after, "run", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize("after", ["first", "third"])
def test_a_run_killed_while_writing_leaves_the_old_run_or_nothing_never_a_mix(tmp_path, after):
    new = tmp_path / "new"
    died = killed_run(after, "--quarters", "2", "--out", str(new))
    assert died.returncode == -9, died.stderr
    assert not new.exists()  # nothing at all, not some of the files

    old = tmp_path / "old"
    assert minerals("run", "--quarters", "2", "--out", str(old)).returncode == 0
    complete = snapshot(old)
    assert sorted(complete) == sorted(OUTPUT_FILES)
    died = killed_run(after, "--quarters", "3", "--seed", "7", "--out", str(old))
    assert died.returncode == -9, died.stderr
    assert snapshot(old) == complete  # the previous run, whole and untouched

    # The dead runs' staging folders are still there; the next run beside them removes them.
    assert any(p.name.startswith(".minerals-") for p in tmp_path.iterdir())
    again = minerals("run", "--quarters", "3", "--seed", "7", "--out", str(old))
    assert again.returncode == 0, again.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["old"]
    assert sorted(p.name for p in old.iterdir()) == sorted(OUTPUT_FILES)
    assert '"seed": 7' in (old / "summary.json").read_text()


def test_a_run_replaces_the_previous_one_whole_and_leaves_no_staging_folder(tmp_path):
    out = tmp_path / "out"
    assert minerals("run", "--quarters", "2", "--out", str(out)).returncode == 0
    first = snapshot(out)
    assert minerals("run", "--quarters", "3", "--out", str(out)).returncode == 0
    second = snapshot(out)
    assert sorted(second) == sorted(OUTPUT_FILES)
    assert second["timeseries.csv"] != first["timeseries.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_staging_folder_of_a_live_process_is_left_alone(tmp_path):
    from experiments.cli.paths import remove_stale

    live = tmp_path / f".minerals-{os.getppid()}.staging"
    dead = tmp_path / ".minerals-999999999.staging"
    dead_aside = tmp_path / ".minerals-999999999.staging.old"
    other = tmp_path / ".minerals-notes"
    for folder in (live, dead, dead_aside, other):
        folder.mkdir()
    (tmp_path / ".minerals-999999999.probe").write_text("minerals")
    remove_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


@pytest.mark.parametrize("swap", [True, False], ids=["exchange", "two renames"])
def test_staging_replaces_a_folder_whole_with_or_without_an_atomic_swap(
    tmp_path, monkeypatch, swap
):
    from experiments.cli import paths

    if not swap:
        monkeypatch.setattr(paths, "_exchange", lambda a, b: False)
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    (out / "old.txt").write_text("old")
    staging = paths.Staging(out)
    with staging as folder:
        (folder / "new.txt").write_text("new")
        assert snapshot(out) == {"old.txt": b"old"}  # untouched until the commit
        staging.commit()
    assert snapshot(tmp_path / "deep") == {"out": None, "out/new.txt": b"new"}

    failed = paths.Staging(tmp_path / "a" / "b" / "out")
    with pytest.raises(OSError), failed as folder:
        (folder / "x").write_text("x")
        raise OSError(errno.ENOSPC, "full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep"]  # a/b made, then removed


@pytest.mark.parametrize("name", ["../../x", "/etc/evil", "Quota 2010/11", ".."])
def test_a_scenario_name_that_is_a_path_is_refused_and_nothing_written(tmp_path, name):
    scenario = tmp_path / "evil.toml"
    scenario.write_text(f'preset = "ndpr"\nname = "{name}"\n')
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    result = minerals("run", "--scenario", str(scenario), "--quarters", "1", cwd=cwd)
    assert_refused(result, "cannot name a folder")
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "evil.toml"]


def test_a_scenario_name_with_spaces_names_a_tidy_folder_under_runs(tmp_path):
    scenario = tmp_path / "quota.toml"
    scenario.write_text('preset = "ndpr"\nname = "Quota 2010"\n')
    result = minerals("run", "--scenario", str(scenario), "--quarters", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["Quota-2010"]


# --- the server ------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["70000", "65536", "0", "-1", "80x"])
def test_a_port_outside_1_to_65535_is_refused(port):
    result = minerals("ui", "--port", port)
    assert_refused(result, "--port", "expected a port from 1 to 65535")


@pytest.mark.parametrize("name", ["", "game.example:8765", "a b", "http://game.example", "x/y"])
def test_an_allowed_host_that_is_not_a_host_name_is_refused(name):
    result = minerals("ui", "--no-open", "--allow-host", name)
    assert_refused(result, "--allow-host", "expected a host name such as game.example")


def test_a_port_taken_or_a_host_not_of_this_machine_is_refused_before_serving():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = minerals("ui", "--no-open", "--port", port)
        assert_refused(result, f"--port {port}: cannot listen there", "pick another --port")
    result = minerals("ui", "--no-open", "--host", "nosuch.invalid")
    assert_refused(result, "--host nosuch.invalid: not an address of this machine")


def request(url: str, host: str | None) -> tuple[int, str]:
    """(status, body) of a GET with this Host header (None: no Host header at all)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("GET", "/", skip_host=True)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def serve(*args: str) -> tuple[subprocess.Popen, str, int]:
    from tests.browser.conftest import free_port, start_server

    port = free_port()
    command = [sys.executable, "-m", "experiments.cli", "ui", "--port", str(port), *args]
    process, url = start_server(command, port)
    return process, url, port


def test_the_server_answers_only_to_its_own_host_names_and_warns_of_no_cookie():
    from tests.browser.conftest import stop_server

    process, url, port = serve("--no-open")
    try:
        for host in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            assert request(url, host)[0] == 200, host
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", ""):
            status, body = request(url, host)
            assert status == 400, host
            assert body.count("\n") == 1 and "is not served here" in body, body
            assert "--allow-host" in body
        assert request(url, None)[0] == 400  # no Host at all: refused by HTTP/1.1 itself
        log = Path(process.log_path).read_text()  # type: ignore[attr-defined]
    finally:
        stop_server(process)
    assert "Cookies with samesite" not in log and "Warning" not in log, log
    assert "Traceback" not in log, log


def test_on_every_address_the_server_answers_to_the_machine_and_to_allowed_names():
    from tests.browser.conftest import stop_server

    process, url, port = serve("--host", "0.0.0.0", "--allow-host", "game.example")
    try:
        for host in ("game.example", f"GAME.example.:{port}", socket_name(), f"localhost:{port}"):
            assert request(url, host)[0] == 200, host
        assert request(url, "other.example")[0] == 400
        log = Path(process.log_path).read_text()  # type: ignore[attr-defined]
    finally:
        stop_server(process)
    assert "Cookies with samesite" not in log, log


def socket_name() -> str:
    import socket

    return socket.gethostname()


def test_the_allowed_hosts():
    from viz.hosts import allowed_hosts, host_name, own_addresses

    assert host_name("Example.ORG.:8765") == "example.org"
    assert host_name("[::1]:8765") == "::1"
    assert host_name("[::1") == ""
    assert allowed_hosts("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts("10.1.2.3", ["Game.example"]) == {
        "localhost",
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "game.example",
    }
    mine = own_addresses()
    assert socket_name().lower() in mine
    assert allowed_hosts("0.0.0.0") >= mine
    assert "10.1.2.3" not in allowed_hosts("0.0.0.0") or "10.1.2.3" in mine


@pytest.mark.parametrize(
    ("args", "env", "opens"),
    [
        ([], {"DISPLAY": ":0"}, True),
        (["--no-open"], {"DISPLAY": ":0"}, False),
        ([], {"WAYLAND_DISPLAY": "wayland-0"}, True),
        ([], {}, False),  # no display: never a browser (nor a text one in the terminal)
    ],
)
def test_a_browser_is_opened_only_when_asked_and_there_is_a_display(monkeypatch, args, env, opens):
    import solara.__main__
    import uvicorn

    from experiments import cli
    from viz.settings import ENVIRONMENT

    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux")
    for key in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ENVIRONMENT:  # set_environment() sets them; put them back after
        monkeypatch.setenv(key, os.environ.get(key, ENVIRONMENT[key]))
    monkeypatch.setattr(uvicorn, "Config", uvicorn.Config)  # check_hosts replaces it
    started = []
    monkeypatch.setattr(solara.__main__.cli, "main", lambda argv, **k: started.append(argv))
    from tests.browser.conftest import free_port

    assert cli.main(["ui", "--port", str(free_port()), *args]) == 0
    (argv,) = started
    assert ("--open" in argv, "--no-open" in argv) == (opens, not opens)
