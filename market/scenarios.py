"""The one scenario loader: named files, paths or mappings, merged over a mineral preset,
with dotted-path overrides and a timeline of events, validated against `market.schema`."""

from __future__ import annotations

import copy
import difflib
import functools
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from market import lever_map
from market.schema import FIELDS, OPTIONAL, TABLES, ScenarioError, field_for, flatten, show

SCENARIO_DIR = Path(__file__).parent / "scenarios"
PRESET_DIR = SCENARIO_DIR / "presets"

# An id of a government, producer or recycler table: it names files, CSV rows and columns.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
ID_RULE = "1 to 32 letters, digits, '-' or '_', starting with a letter or digit"
# A scenario's name: the default folder of its run (runs/NAME), so no path separators.
NAME_PATTERN = re.compile(r"[^\x00-\x1f\x7f/\\.][^\x00-\x1f\x7f/\\]{0,79}")
NAME_RULE = "1 to 80 characters, without / or \\ or control characters, not starting with '.'"
SHARE_TOLERANCE = 0.001  # governments' demand shares must sum to 1 within this
MAX_DEPTH = 8  # tables within tables a scenario may hold (it needs 4, an event's set 5)

# Keys that act only when a model is built: an event may not change them (`quarters`, the
# run's length, is fixed when it starts; the others set the state at quarter 0).
BUILD_ONLY = ("quarters", *sorted(lever_map.START_ONLY))


@dataclass(frozen=True)
class Event:
    """A timeline entry: from `quarter` on, the dotted keys in `changes` take new values."""

    quarter: int
    label: str
    changes: dict[str, Any]


@dataclass
class Scenario:
    """A validated scenario tree and its timeline, as `load_scenario` returns it.

    Change values through `set`, which checks them; a Scenario built by hand is checked in
    full when a model or `load_scenario` first reads it."""

    name: str
    params: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    source: str = ""
    checked: bool = field(default=False, repr=False, compare=False)

    def get(self, path: str) -> Any:
        node: Any = self.params
        for part in path.split("."):
            node = node[part]
        return node

    def set(self, path: str, value: Any) -> None:
        """Set one dotted key after checking it; raises ScenarioError on a bad key or value."""
        value = _check_key(self.params, path, value)
        *parents, leaf = path.split(".")
        node = self.params
        for part in parents:
            node = node[part]
        node[leaf] = value

    def flat(self) -> dict[str, Any]:
        return flatten(self.params)


def named_scenarios() -> dict[str, Path]:
    return _toml_files(SCENARIO_DIR)


def presets() -> dict[str, Path]:
    return _toml_files(PRESET_DIR)


def _toml_files(folder: Path) -> dict[str, Path]:
    """The folder's .toml files by stem, in name order (a directory listing: every model built
    looks the names up, and `Path.glob` costs several times as much)."""
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return {}
    return {name.removesuffix(".toml"): folder / name for name in names if name.endswith(".toml")}


def describe(name: str) -> str:
    """The one-line description of a named scenario."""
    return str(_read_toml(named_scenarios()[name]).get("description", ""))


def load_scenario(
    source: str | Path | Mapping[str, Any] = "baseline",
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Load, merge over its preset, apply dotted overrides, validate. Raises ScenarioError.

    A file's merged and validated tree is kept until the file or its preset changes, and a
    Scenario that was checked is copied, not checked again: a sweep or a batch of thousands of
    runs checks only each run's own overrides. A Scenario keeps its timeline as it is."""
    raw_events: list | None = None  # a Scenario's timeline is parsed already
    overrides = dict(overrides or {})
    preset = overrides.pop("preset", None)
    if preset is not None:
        _check_preset_name(preset, "preset")
    if isinstance(source, Scenario):
        if preset is not None and preset != source.params.get("preset"):
            raise ScenarioError(
                f"preset: a loaded scenario ({source.name!r}) keeps its preset; load the "
                f"scenario again with preset {preset!r}, or give the preset as the scenario "
                "(a sweep cannot vary it: run one sweep per preset)"
            )
        if source.checked:
            tree = _copy_tree(source.params)
        else:
            _check_shape(source.params, "scenario")
            tree = _base(copy.deepcopy(source.params))[0]
            _check_timeline(tree, source.events)
        name, origin, events = source.name, source.source, list(source.events)
    elif isinstance(source, Mapping):
        _check_shape(source, "scenario")
        raw = copy.deepcopy(dict(source))
        if preset is not None:
            raw["preset"] = preset
        tree, raw_events, name = _base(raw)
        origin = "<mapping>"
    else:
        path, origin = _locate(source)
        if preset is None:
            tree, raw_events, name = _copy_tree(_file_base(path, origin))
        else:  # the file's own keys over the preset given instead of its own
            raw = _read_toml(path)
            raw["preset"] = preset
            tree, raw_events, name = _base(raw, fallback=Path(origin).stem)
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ScenarioError(f"{show(key)}: a key is a dotted name such as supplier.budget")
        _set_path(tree, key, _check_key(tree, key, value))
    if overrides:
        _check_whole(tree)  # rules over several keys, once every override is in
        if "name" in overrides:
            name = tree["name"]
    if raw_events is not None:
        events = _parse_events(tree, raw_events)
    elif overrides:
        _check_timeline(tree, events)
    tree["name"] = name
    return Scenario(name=name, params=tree, events=events, source=origin, checked=True)


def event_setting(spec: Scenario, key: str) -> Event | None:
    """The first timeline event that sets `key` (a `governments.*.attr` pattern matches every
    country), or None: a value given from outside for such a key would hold only until then."""
    parts = key.split(".")
    for event in spec.events:
        for path in event.changes:
            if path == key or (
                len(parts) == 3
                and parts[1] == "*"
                and path.startswith(parts[0] + ".")
                and path.rsplit(".", 1)[-1] == parts[2]
            ):
                return event
    return None


def refuse_event_overrides(spec: Scenario, keys: Iterable[str], how: str = "--set") -> None:
    """Raise ScenarioError, one line, for the first of `keys` a timeline event changes later:
    an outside value for it would be silently replaced when the event fires."""
    for key in keys:
        event = event_setting(spec, key)
        if event is not None:
            label = f" ({event.label})" if event.label else ""
            raise ScenarioError(
                f"{how} {key}: scenario {spec.name!r} sets it again at quarter {event.quarter}"
                f"{label}; change that event in a scenario file, or choose a scenario whose "
                "timeline leaves it alone"
            )


def parse_value(text: str) -> Any:
    """A CLI value: TOML syntax where it parses (numbers, true/false, quoted strings), else text.

    Raises ScenarioError for a value TOML reads but cannot hold (a number of thousands of
    digits, tables nested too deep)."""
    try:
        return _loads(f"v = {text}", "value")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignment(text: str) -> tuple[str, Any]:
    """`key=value` as typed after --set."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(
            f"--set {show(text)}: expected key=value, for example supplier.budget=2000"
        )
    try:
        return key.strip(), parse_value(value.strip())
    except ScenarioError as err:
        raise ScenarioError(f"--set {key.strip()}: {err}") from None


# --- internals ---------------------------------------------------------------------------------


def _locate(source: str | Path) -> tuple[Path, str]:
    """The file behind a scenario name, a preset name or a path, and how the user named it."""
    text = str(source)
    named = named_scenarios()
    if text in named:
        return named[text], text
    if text in presets():
        return presets()[text], text
    path = Path(text)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ScenarioError(f"scenario file {text} does not exist")
        return path, str(path)
    raise ScenarioError(
        f"unknown scenario {text!r}: choose one of {', '.join([*named, *presets()])} "
        "or give a path to a .toml file"
    )


def _file_base(path: Path, origin: str) -> tuple[dict[str, Any], list, str]:
    """`_base` for a file, computed once per version of the file and of its preset: each is
    read once a call and the cache is keyed on the bytes read, so an edit is always seen."""
    data = _read_bytes(path)
    preset_name = _parse_toml(data, str(path)).get("preset")
    preset, found = None, presets()
    if isinstance(preset_name, str) and preset_name in found:
        preset = (str(found[preset_name]), _read_bytes(found[preset_name]))
    return _cached_base(str(path), data, preset, Path(origin).stem)


@functools.lru_cache(maxsize=64)
def _cached_base(
    where: str, data: bytes, preset: tuple[str, bytes] | None, fallback: str
) -> tuple[dict[str, Any], list, str]:
    return _base(_copy_tree(_parse_toml(data, where)), preset, fallback)


def _base(
    tree: dict[str, Any], preset: tuple[str, bytes] | None = None, fallback: str = "custom"
) -> tuple[dict[str, Any], list, str]:
    """A scenario tree merged over its preset and validated, before overrides and events, and
    its name (`fallback` if it has none). `preset` is the preset file's name and bytes when the
    caller has read them; otherwise the preset is read here."""
    own_name = tree.get("name")  # a preset's name is not the scenario's
    preset_name = tree.get("preset")
    if preset_name is not None:
        _check_preset_name(preset_name, "preset")
        if preset is None:
            preset_path = presets()[preset_name]
            preset = (str(preset_path), _read_bytes(preset_path))
        tree = _merge(_parse_toml(preset[1], preset[0]), tree)
    raw_events = tree.pop("events", [])
    _validate_tree(tree)
    return tree, raw_events, str(own_name or fallback)


def _copy_tree(value: Any) -> Any:
    """A copy of parsed TOML (tables, arrays and immutable scalars), several times faster than
    `copy.deepcopy`, which matters when every run of a sweep starts from the same file."""
    if isinstance(value, dict):
        return {k: _copy_tree(v) if isinstance(v, _NESTED) else v for k, v in value.items()}
    if isinstance(value, _NESTED):
        return type(value)(_copy_tree(v) if isinstance(v, _NESTED) else v for v in value)
    return value


_NESTED = (dict, list, tuple)  # what `_copy_tree` copies; everything else in TOML is immutable


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; bytes parsed before are not parsed again."""
    return _copy_tree(_parse_toml(_read_bytes(path), str(path)))


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read: {err.strerror}") from None


@functools.lru_cache(maxsize=64)
def _parse_toml(data: bytes, where: str) -> dict[str, Any]:
    return read_toml_bytes(data, where)


def read_toml_bytes(data: bytes, where: str) -> dict[str, Any]:
    """TOML bytes as a table, or ScenarioError (one line naming `where`) for bytes that are not
    UTF-8, malformed TOML, or TOML that Python reads but cannot hold: a number of thousands of
    digits, tables or arrays nested past MAX_DEPTH. Every scenario file, spec and upload is read
    through here."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise ScenarioError(f"{where}: not UTF-8 text") from None
    try:
        return _loads(text, where)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{where}: malformed TOML: {err}") from None


def _loads(text: str, where: str) -> dict[str, Any]:
    """tomllib.loads, but ScenarioError for what it reads and cannot hold; TOMLDecodeError for
    text that is not TOML."""
    if "\x00" in text:
        raise ScenarioError(f"{where}: not a text file (it holds NUL bytes)")
    try:
        tree = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:  # int("1" * 5000): Python's limit on digits in a number
        raise ScenarioError(
            f"{where}: a number has thousands of digits; every number must lie in its key's "
            "range (minerals keys)"
        ) from None
    except RecursionError:
        raise ScenarioError(
            f"{where}: tables or arrays nested too deep; a scenario nests at most {MAX_DEPTH}"
        ) from None
    _check_shape(tree, where)
    return tree


def _check_shape(tree: Any, where: str) -> None:
    """Refuse tables or arrays nested past MAX_DEPTH (walked without recursion, so a cycle or a
    deep mapping cannot exhaust the stack)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ScenarioError(
                f"{where}: tables or arrays nested too deep; a scenario nests at most {MAX_DEPTH}"
            )
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, Mapping | list))
        elif isinstance(node, list | tuple):
            stack.extend((v, depth + 1) for v in node if isinstance(v, Mapping | list | tuple))


def _check_preset_name(value: Any, where: str) -> None:
    if not isinstance(value, str) or value not in presets():
        raise ScenarioError(
            f"{where}: unknown preset {show(value)}; choose one of {', '.join(presets())}"
        )


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = _copy_tree(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = _copy_tree(value)
    return out


def _unknown(path: str, known: list[str]) -> ScenarioError:
    hint = difflib.get_close_matches(path, known, n=1)
    suffix = f" (did you mean {hint[0]}?)" if hint else ""
    return ScenarioError(f"{path}: unknown key{suffix}")


def _known_paths(tree: dict[str, Any]) -> list[str]:
    paths = [p for p in FIELDS if "*" not in p]
    for table in TABLES:
        entries = tree.get(table)
        for entry in entries if isinstance(entries, dict) else {}:
            paths += [p.replace("*", entry) for p in FIELDS if p.startswith(f"{table}.*.")]
    return paths


def _check_key(tree: dict[str, Any], path: str, value: Any) -> Any:
    """One key's value against the schema and the rules tying it to the tree's other values."""
    if not isinstance(path, str):
        raise ScenarioError(f"{show(path)}: a key is a dotted name such as supplier.budget")
    spec = field_for(path)
    parts = path.split(".")
    if spec is None or (parts[0] in TABLES and parts[1] not in (tree.get(parts[0]) or {})):
        raise _unknown(path, _known_paths(tree))
    value = spec.check(path, value)
    _check_links(tree, path, value)
    return value


def _check_links(tree: dict[str, Any], path: str, value: Any) -> None:
    """Rules that tie one value to another, and the name's (it names the run's folder)."""
    if path == "name" and not NAME_PATTERN.fullmatch(value):
        raise ScenarioError(f"name: {show(value)} cannot name a folder; a name is {NAME_RULE}")
    if path.endswith(".country") and value not in (tree.get("governments") or {}):
        allowed = ", ".join(tree.get("governments") or {}) or "none defined"
        raise ScenarioError(f"{path}: {value!r} has no government table; allowed: {allowed}")
    parts = path.split(".")
    if parts[0] == "producers" and parts[-1] in ("found", "capacity"):
        entry = (tree.get("producers") or {}).get(parts[1], {})
        found = value if parts[-1] == "found" else entry.get("found", True)
        capacity = value if parts[-1] == "capacity" else entry.get("capacity", 0)
        if found is False and isinstance(capacity, int | float) and capacity > 0:
            raise ScenarioError(
                f"{path}: an undiscovered deposit (found = false) has no capacity yet; "
                "set its capacity to 0 and its expansion to what it can build"
            )
    if path.endswith("stockpile_buy_below"):
        cap = tree.get("demand", {}).get("price_cap")
        if cap is not None and value >= cap:
            raise ScenarioError(f"{path}: must be below demand.price_cap ({cap:g} USD/kg)")
    if path == "demand.price_cap":
        limits = {
            c: g.get("stockpile_buy_below") for c, g in (tree.get("governments") or {}).items()
        }
        highest = max((v for v in limits.values() if v is not None), default=None)
        if highest is not None and value <= highest:
            raise ScenarioError(
                f"{path}: must be above every stockpile_buy_below (highest {highest:g} USD/kg)"
            )


def _set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted key, adding its table if the tree has none (a section whose every key has a
    default may be left out of a scenario)."""
    *parents, leaf = path.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


SECTIONS = tuple(dict.fromkeys(p.split(".")[0] for p in FIELDS if "." in p))


def _validate_tree(tree: dict[str, Any]) -> None:
    """Every key known, present (or given its default) and in range, then the rules that tie
    values together (`_check_whole`)."""
    for key, value in tree.items():
        if not isinstance(key, str) or "." in key:
            raise ScenarioError(
                f"{show(key)}: not a key; write each key in its section's table, such as "
                "[supplier] budget = 2000"
            )
        if key in SECTIONS and not isinstance(value, dict):
            raise ScenarioError(f"{key}: expected a table [{key}], got {show(value)}")
    for table in TABLES:
        entries = tree.get(table)
        if not isinstance(entries, dict) or (table == "governments" and not entries):
            raise ScenarioError(
                f"{table}: missing; a scenario needs at least one {table[:-1]} table"
            )
        for entry, body in entries.items():
            if not isinstance(entry, str) or not ID_PATTERN.fullmatch(entry):
                raise ScenarioError(f"{table}.{show(entry)}: not an id; an id is {ID_RULE}")
            if not isinstance(body, dict):
                raise ScenarioError(
                    f"{table}.{entry}: expected a table [{table}.{entry}], got {show(body)}"
                )
            for key, value in body.items():
                if isinstance(value, dict):
                    raise ScenarioError(f"{table}.{entry}.{key}: unknown table")
    known = _known_paths(tree)
    flat = flatten(tree)
    for path, _value in flat.items():
        if field_for(path) is None or (path.split(".")[0] in TABLES and len(path.split(".")) != 3):
            raise _unknown(path, known)
    for path in known:
        if path not in flat and field_for(path).default is not None:
            _set_path(tree, path, field_for(path).default)
            flat[path] = field_for(path).default
        if path not in flat and path not in OPTIONAL:
            raise ScenarioError(f"{path}: missing; expected {field_for(path).allowed()}")
    for path in known:  # each value in its type first, so the rules below compare numbers
        if path in flat:
            _set_path(tree, path, field_for(path).check(path, flat[path]))
    for path in known:
        if path in flat:
            _check_links(tree, path, tree_get(tree, path))
    _check_whole(tree)


def tree_get(tree: dict[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        node = node[part]
    return node


def check_tree_rules(tree: dict[str, Any]) -> None:
    """The rules over many keys (`_check_whole`), for a tree changed key by key elsewhere."""
    _check_whole(tree)


def _check_whole(tree: dict[str, Any]) -> None:
    """Rules over many keys at once, checked once a tree is complete (after the overrides, and
    after each event's changes): the governments' demand shares sum to 1, and no id names both
    a producer and a recycler (an id names one firm in every table and file)."""
    shares = {c: g.get("demand_share") for c, g in (tree.get("governments") or {}).items()}
    if all(isinstance(v, int | float) for v in shares.values()):
        total = math.fsum(shares.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            listed = ", ".join(f"{c} {v:g}" for c, v in shares.items())
            raise ScenarioError(
                f"governments.*.demand_share: the shares must sum to 1 (within "
                f"{SHARE_TOLERANCE:g}), got {total:.6g} ({listed})"
            )
    both = set(tree.get("producers") or {}) & set(tree.get("recyclers") or {})
    if both:
        raise ScenarioError(
            f"recyclers.{sorted(both)[0]}: the id names a producer too; each firm needs an id "
            "of its own"
        )


def _parse_events(tree: dict[str, Any], raw: Any) -> list[Event]:
    """The timeline, each event checked now, before any run: its keys and values, then its
    changes applied in order to a copy of the scenario (after the events before it), with the
    rules that tie values together, so two changes that clash are refused at load time."""
    if not isinstance(raw, list):
        raise ScenarioError("events: expected a list of [[events]] tables")
    events = []
    last = int(FIELDS["quarters"].high)  # an event after the run's end never fires
    for i, item in enumerate(raw, start=1):
        where = f"events[{i}]"
        if not isinstance(item, dict):
            raise ScenarioError(f"{where}: expected a table with quarter, label and set")
        extra = [k for k in item if k not in ("quarter", "label", "set")]
        if extra:
            raise ScenarioError(f"{where}.{extra[0]}: unknown key; allowed: quarter, label, set")
        q = item.get("quarter")
        if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= last:
            raise ScenarioError(
                f"{where}.quarter: expected a whole number from 1 to {last}, got {show(q)}"
            )
        label = item.get("label", "")
        if not isinstance(label, str):
            raise ScenarioError(f"{where}.label: expected a string, got {show(label)}")
        changes = item.get("set")
        if not isinstance(changes, dict) or not changes:
            raise ScenarioError(f"{where}.set: expected a table of dotted keys and values")
        events.append((Event(q, label, flatten(changes)), f"{where}.set"))
    events.sort(key=lambda pair: pair[0].quarter)
    return _check_timeline(tree, [e for e, _ in events], [w for _, w in events])


def _event_name(event: Event) -> str:
    label = f" ({show(event.label, 50)})" if event.label else ""
    return f"event at quarter {event.quarter}{label}"


def _check_timeline(
    tree: dict[str, Any], events: list[Event], places: list[str] | None = None
) -> list[Event]:
    """Apply the events in quarter order to a copy of `tree`, checking each change as the model
    would when it fires and the whole tree after each event. Returns the events with their
    values in the schema's types. Raises ScenarioError naming the event's quarter and label."""
    trial = _copy_tree(tree)
    checked_events = []
    for n, event in enumerate(events):
        checked = {}
        try:
            for path, value in event.changes.items():
                _refuse_build_only(path)
                checked[path] = _check_key(trial, path, value)
                lever_map.refuse_unless_settable(path)  # found now, not when the event fires
                _set_path(trial, path, checked[path])
            _check_whole(trial)
        except ScenarioError as err:
            place = places[n] if places else "events"
            raise ScenarioError(f"{place}: {err}; in the {_event_name(event)}") from None
        checked_events.append(Event(event.quarter, event.label, checked))
    return checked_events


def _refuse_build_only(path: Any) -> None:
    if not isinstance(path, str):
        return  # _check_key names it
    parts = path.split(".")
    pattern = f"{parts[0]}.*.{parts[2]}" if len(parts) == 3 and parts[0] in TABLES else path
    if pattern in BUILD_ONLY:
        raise ScenarioError(
            f"{path}: acts only when the run is built, so an event may not change it; keys "
            f"an event may not change: {', '.join(BUILD_ONLY)}"
        )
