"""Solara's front end, fetched once with npm into the server's asset cache: the game then loads
with no internet connection.

A Solara page asks its server for a few npm packages (the Vue/Vuetify app, RequireJS, Font
Awesome) under `/_solara/cdn/`; the server answers from its asset cache
(`SOLARA_ASSETS_PROXY_CACHE_DIR`, by default `<venv>/share/solara/cdn`) and, for anything
missing, fetches it from a CDN on the internet. The exact packages and versions are the ones the
installed Solara's page template names, so they are read from it, not written down here: an
upgrade of Solara (or of ipyvue, which picks the Vue 2 or Vue 3 app) fetches what it needs.

    python -m viz.assets            # fetch what is missing (`make assets` does this)
    python -m viz.assets --check    # exit 1 and list what is missing
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# `{{cdn}}/@scope/name@1.2.3/...` in the template; Font Awesome's path is a setting.
_PACKAGE = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+)@(\d[\w.-]*)/")


def template_path() -> Path:
    import solara.server

    return Path(solara.server.__file__).parent / "templates" / "solara.html.j2"


def needed() -> list[tuple[str, str]]:
    """(package, version) for every npm package the installed Solara's page loads."""
    import ipyvue
    import solara.server.settings as settings

    vue3 = ipyvue.__version__.startswith("3")
    found = set(_PACKAGE.findall(template_path().read_text()))
    # The template names both apps; the page loads the one for the installed Vue.
    unused = "solara-vuetify-app" if vue3 else "solara-vuetify3-app"
    packages = {(p, v) for p, v in found if p != f"@widgetti/{unused}"}
    if settings.assets.fontawesome_enabled:
        match = re.match(r"/((?:@[\w.-]+/)?[\w.-]+)@(\d[\w.-]*)/", settings.assets.fontawesome_path)
        if match:
            packages.add((match.group(1), match.group(2)))
    return sorted(packages)


def cache_dir() -> Path:
    import solara.server.settings as settings

    return Path(settings.assets.proxy_cache_dir)


def missing(directory: Path | None = None) -> list[tuple[str, str]]:
    directory = directory or cache_dir()
    return [(p, v) for p, v in needed() if not (directory / f"{p}@{v}" / "package.json").is_file()]


def fetch(packages: list[tuple[str, str]], directory: Path) -> None:
    """`npm pack` each package and unpack it as `<directory>/<package>@<version>/`, the layout
    Solara's cache uses. Each lands under a temporary name and is renamed when complete."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed once to fetch Solara's front-end files for offline use "
            "(Debian: apt-get install npm)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for package, version in packages:
        target = directory / f"{package}@{version}"
        with tempfile.TemporaryDirectory(dir=directory) as work:
            subprocess.run(
                [npm, "pack", f"{package}@{version}", "--silent"],
                cwd=work,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            (tarball,) = Path(work).glob("*.tgz")
            with tarfile.open(tarball) as archive:
                archive.extractall(work, filter="data")
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            Path(work, "package").rename(target)
        print(f"fetched {package}@{version} -> {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m viz.assets", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="only report what is missing")
    args = parser.parse_args(argv)
    directory = cache_dir()
    absent = missing(directory)
    if args.check:
        for package, version in absent:
            print(f"missing: {package}@{version} in {directory}")
        return 1 if absent else 0
    if absent:
        fetch(absent, directory)
    else:
        print(f"Solara's front-end files are in {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
