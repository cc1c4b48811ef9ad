"""The `--out` folder of the commands that write: checked before any work starts, and (for a
command whose files belong together) written whole.

`check_out(out)` refuses, with one line naming what is wrong, a folder that cannot be written:
an empty name, a file (or a file on the way to it), a name or path longer than the file system
takes, a folder this user cannot write in, a file system too full to hold the results. It tries
for real: it writes a probe file in the nearest folder that exists, and removes it.

`Staging(out)` is for files that must appear together or not at all (`minerals run`'s four):
they are written into a hidden folder beside `out` (`.minerals-PID.staging`), which then takes
the place of `out` in one rename (a previous run in `out` is swapped out whole and removed only
after). A process killed while writing leaves its staging folder behind; the next command that
writes beside it removes it once that process is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import shutil
from collections.abc import Collection
from pathlib import Path

from market.schema import ScenarioError

STAGING_PREFIX = ".minerals-"
STAGING_SUFFIX = ".staging"
# What a command leaves beside --out if it is killed: its staging folder, the previous run being
# swapped out, the probe file of check_out.
STAGING_PATTERN = re.compile(r"^\.minerals-(\d+)\.(staging|staging\.old|probe)$")
STAGING_ROOM = 40  # bytes a staging folder's name may take beside `out`
# Room a command needs on the file system before it starts: a run's four files take well under
# a megabyte; this much free leaves room for the largest results with a margin.
MIN_FREE_BYTES = 16 * 1024 * 1024


def out_folder(text: str) -> Path:
    """An argparse type for --out: any path but an empty (or blank) one, which would be the
    current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "expected a folder path, got an empty one (to write here, pass --out .)"
        )
    if "\0" in text:
        raise argparse.ArgumentTypeError("expected a folder path, got one with a NUL character")
    return Path(text)


def slug(name: str, fallback: str = "scenario") -> str:
    """A folder name made from a scenario's (or an episode's) name: letters, digits, '.', '-'
    and '_' kept, every other run of characters (a '/', a space) made one '-', no leading dot;
    so `runs/<slug>` is always a folder directly in runs/."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-.")
    return text[:100] or fallback


def _fail(out: Path, what: str) -> ScenarioError:
    """One line naming the folder (a very long one by its ends, so the reason still shows)."""
    text = str(out)
    if len(text) > 160:
        text = f"{text[:80]}…{text[-60:]}"
    return ScenarioError(f"--out {text}: {what}")


def _nearest_existing(out: Path) -> Path:
    existing = out
    while not os.path.lexists(existing):
        existing = existing.parent
    return existing


def check_out(out: Path | str, *, whole: Collection[str] = ()) -> None:
    """Raise ScenarioError, one line, unless `out` is a folder this command can write into or
    create. With `whole` (the names of the files a command writes), `out` is to be replaced as
    a whole (see Staging): an existing folder must hold no other files."""
    raw = str(out)
    if not raw.strip():
        raise ScenarioError("--out: expected a folder path, got an empty one")
    out = Path(os.path.abspath(raw))
    if out == out.parent:
        raise _fail(Path(raw), "is the root folder; name a folder to write the results into")
    try:
        name_max = os.pathconf(_nearest_existing(out), "PC_NAME_MAX")
        path_max = os.pathconf(_nearest_existing(out), "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    longest = max(len(os.fsencode(part)) for part in out.parts)
    if longest > name_max:
        raise _fail(
            Path(raw), f"a name in it is {longest} bytes long; at most {name_max} are allowed"
        )
    if len(os.fsencode(str(out))) + STAGING_ROOM >= path_max:
        raise _fail(
            Path(raw),
            f"the path is too long; at most {path_max - STAGING_ROOM - 1} bytes are allowed",
        )
    if os.path.lexists(out) and not out.is_dir():
        raise _fail(Path(raw), "is a file; expected a folder to write into")
    existing = _nearest_existing(out)
    if not existing.is_dir():
        raise _fail(Path(raw), f"{existing} is a file; expected a folder to write into")
    if whole and out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in whole)
        if others:
            raise _fail(
                Path(raw),
                f"holds files that are not a run's ({', '.join(others[:3])}); choose a new "
                "folder or a previous run's, which is replaced",
            )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _fail(
            Path(raw),
            f"cannot write in {existing} (permission denied); choose a folder you can write to",
        )
    probe = existing / f"{STAGING_PREFIX}{os.getpid()}.probe"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"minerals")
            handle.flush()
            os.fsync(handle.fileno())
        free = shutil.disk_usage(existing).free
    except OSError as err:
        raise _fail(Path(raw), f"cannot write in {existing} ({reason(err)})") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    if free < MIN_FREE_BYTES:
        raise _fail(
            Path(raw),
            f"only {free // 1024} KB free on its file system; at least "
            f"{MIN_FREE_BYTES // 1024 // 1024} MB are needed",
        )


def reason(err: OSError) -> str:
    """An OSError's reason in words: 'No space left on device'."""
    return err.strerror or (errno.errorcode.get(err.errno, "") if err.errno else "") or str(err)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale(folder: Path) -> None:
    """Remove the staging folders in `folder` left by processes that are gone."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        found = STAGING_PATTERN.match(entry.name)
        if found and int(found.group(1)) != os.getpid() and not _alive(int(found.group(1))):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not
    available."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    return done == 0


class Staging:
    """A hidden folder beside `out` to write into; `commit()` puts it in the place of `out`.

    Use as a context manager: leaving without commit() (an error, Ctrl-C) removes the staging
    folder and leaves `out` as it was, and so do the folders it had to make on the way.
    """

    def __init__(self, out: Path | str) -> None:
        self.out = Path(os.path.abspath(out))
        self.made: list[Path] = []
        missing = self.out.parent
        while not missing.exists():
            self.made.append(missing)
            missing = missing.parent
        self.out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(self.out.parent)
        self.path = self.out.parent / f"{STAGING_PREFIX}{os.getpid()}{STAGING_SUFFIX}"
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir()
        self.committed = False

    def commit(self) -> None:
        """Put the staged files in place of `out`, all together."""
        if not self.out.is_dir():
            os.rename(self.path, self.out)  # also replaces an empty folder made meanwhile
        elif not _exchange(self.path, self.out):
            # No atomic swap here: move the old folder aside, then the new one in; for a moment
            # `out` is missing, never a mix.
            aside = self.path.with_name(self.path.name + ".old")
            os.rename(self.out, aside)
            os.rename(self.path, self.out)
            shutil.rmtree(aside, ignore_errors=True)
        self.committed = True

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)  # after a swap it holds the old run
        if not self.committed:
            for folder in self.made:  # deepest first
                with contextlib.suppress(OSError):
                    folder.rmdir()
