"""The event feed as data: each entry is a record (quarter, kind, who, the numbers) and the text
rendered from them, so tests and the game read kinds and numbers, never wording.

A kind's rank orders the feed for a reader: what changes the game (a bankruptcy, a shock, a
campaign) before routine news (an investment, new capacity).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FeedEntry:
    quarter: int  # the quarter it happened in; 0 before the first
    kind: str  # a key of KINDS
    who: str  # the actor: a firm id, a country code, "dominant", "you", ...
    data: Mapping[str, Any] = field(default_factory=dict)  # the numbers the text is made from
    text: str = ""

    @property
    def rank(self) -> int:
        return KINDS[self.kind][0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "quarter": self.quarter,
            "kind": self.kind,
            "who": self.who,
            "data": dict(self.data),
            "text": self.text,
        }


def _dumping_flagged(who: str, d: Mapping[str, Any]) -> str:
    price, cost = d["price"], d["allied_cash_cost"]
    if cost > 0 and price < cost:
        return (
            f"dominant supplier prices {1 - price / cost:.0%} under allied cash cost "
            f"({price:.0f} vs {cost:.0f} USD/kg): dumping flagged"
        )
    return f"dominant supplier sells under its own cash cost ({price:.0f} USD/kg): dumping flagged"


def _bankruptcy(who: str, d: Mapping[str, Any]) -> str:
    return f"{who} ({d['firm_kind']}) bankrupt" + _sale(d)


def _sale(d: Mapping[str, Any]) -> str:
    """Where a failed firm's plant goes, as the end of its bankruptcy or closure entry."""
    if d["sale"] == "blocked":
        return (
            f"; sale to the dominant supplier blocked by {d['reviewer']} review: an allied "
            f"buyer takes over its {d['capacity']:,.0f} t/yr, on care and maintenance"
        )
    if d["sale"] == "dominant":
        return f"; the dominant supplier buys its {d['capacity']:,.0f} t/yr"
    return ""


def _closure(who: str, d: Mapping[str, Any]) -> str:
    return f"{who} ({d['firm_kind']}) closes: {d['why']}" + _sale(d)


def _response_activates(who: str, d: Mapping[str, Any]) -> str:
    names = ", ".join(d["members"]) or "no member"
    return f"response group activates with {names}: " + (", ".join(d["moves"]) or "no levers set")


def _given(who: str, d: Mapping[str, Any]) -> str:
    raise ValueError("this kind of entry carries its own text")


# kind -> (rank: 0 first, what it records, how its text reads)
KINDS: dict[str, tuple[int, str, Callable[[str, Mapping[str, Any]], str]]] = {
    "shock": (0, "a facilitator's injected shock", _given),
    "bankruptcy": (0, "an allied firm's cash has run out; where its plant goes", _bankruptcy),
    "closure": (0, "an allied firm closes its plant for good and sells it", _closure),
    "idle": (
        1,
        "an allied firm puts its plant on care and maintenance",
        lambda who, d: (
            f"{who} idles its {d['capacity']:,.0f} t/yr: expects "
            f"{d['expected_price']:.0f} USD/kg against a cash cost of {d['cash_cost']:.0f}"
        ),
    ),
    "restart": (
        1,
        "an idle allied plant starts up again",
        lambda who, d: (
            f"{who} restarts its {d['capacity']:,.0f} t/yr (restart cost "
            f"{d['cost']:,.0f} USD m); producing from Q{d['ready_quarter']}"
        ),
    ),
    "backer": (
        1,
        "a parent or backer puts cash into an allied firm",
        lambda who, d: (
            f"{who}'s backer puts in {d['cash']:,.0f} USD m "
            f"({d['left']:,.0f} USD m left to call on)"
        ),
    ),
    "quota": (
        1,
        "the dominant supplier cuts its export quota",
        lambda who, d: (
            f"dominant supplier cuts its export quota by {d['quota_cut']:.0%} "
            f"to {d['quota']:,.0f} t/yr"
        ),
    ),
    "campaign_start": (
        1,
        "the dominant supplier opens a price war",
        lambda who, d: "dominant supplier opens a price war against allied producers",
    ),
    "campaign_end": (
        1,
        "the dominant supplier ends a price war",
        lambda who, d: f"dominant supplier ends its price war ({d['why']}) and raises prices",
    ),
    "budget_spent": (
        1,
        "the dominant supplier's dumping budget is gone",
        lambda who, d: "dominant supplier's dumping budget is spent",
    ),
    "dumping_flagged": (1, "the response group first flags dumping", _dumping_flagged),
    "response_activates": (
        1,
        "the response group switches the members' counter-moves on",
        _response_activates,
    ),
    "restriction_flagged": (
        1,
        "the response group flags an export restriction or a shortage",
        lambda who, d: (
            "buyers go short at the price cap: supply disruption flagged"
            if d["shortage"] > 0
            else "dominant supplier restricts exports: supply disruption flagged"
        ),
    ),
    "response_stands_down": (
        1,
        "the response group stands down",
        lambda who, d: (
            f"response group stands down after {d['quiet_quarters']} quarters without dumping "
            "or a disruption"
        ),
    ),
    "duty_review": (
        2,
        "a member's yearly review of its anti-dumping order resets the duty to the margin found",
        lambda who, d: f"{who} reviews its anti-dumping order: duty now {d['rate']:.0%}",
    ),
    "duty_renewed": (
        1,
        "a sunset review keeps an anti-dumping order for another term",
        lambda who, d: (
            f"{who}'s sunset review finds dumping likely to recur: order runs to Q{d['until']}"
        ),
    ),
    "duty_lapses": (
        1,
        "an anti-dumping order ends at its sunset review",
        lambda who, d: f"{who}'s anti-dumping order lapses at its sunset review",
    ),
    "duty_revoked": (
        1,
        "a member that left the response revokes its anti-dumping order",
        lambda who, d: f"{who} revokes its anti-dumping order",
    ),
    "election_exit": (
        1,
        "a member's new government leaves the response after an election",
        lambda who, d: f"{who} election: the new government leaves the coordinated response",
    ),
    "election_stays": (
        2,
        "a member's new government stays in the response after an election",
        lambda who, d: f"{who} election: the new government stays in the coordinated response",
    ),
    "defection": (
        1,
        "a member leaves the coordinated response",
        lambda who, d: f"{who} leaves the coordinated response",
    ),
    "sell_off": (
        1,
        "a support scheme's money is gone and it sells its stock",
        lambda who, d: (
            f"{who}'s stockpile money is spent: it sells its {d['stock']:,.0f} t over "
            f"{d['quarters']:.0f} quarters at any price"
        ),
    ),
    "floor_spent": (
        1,
        "a government's floor budget is gone",
        lambda who, d: (
            f"{who} floor budget is spent: the {d['floor_price']:.0f} USD/kg floor stops"
        ),
    ),
    "decision": (1, "a player's decision", _given),
    "scenario": (1, "a scheduled event of the scenario's timeline", _given),
    "role": (2, "which side the player plays", _given),
    "compare": (2, "what a Compare replay changed", _given),
    "discovery": (
        1,
        "mapping finds an undiscovered allied deposit",
        lambda who, d: (
            f"mapping in {d['country']} finds a deposit, {who}: up to "
            f"{d['expansion']:,.0f} t/yr once built, {d['lead_time']:.0f} quarters after it "
            "invests"
        ),
    ),
    "project_failed": (
        1,
        "an allied project fails to deliver when due (a seabed project)",
        lambda who, d: (
            f"{who}'s project fails to deliver: {d['capacity']:,.0f} t/yr will not come on "
            f"stream, {d['capital']:,.0f} USD m of capital written off"
        ),
    ),
    "capacity_online": (
        3,
        "an allied firm's new capacity comes on stream",
        lambda who, d: f"{who}'s new capacity comes on stream ({d['capacity']:,.0f} t/yr in all)",
    ),
    "investment": (
        3,
        "an allied firm starts a project",
        lambda who, d: (
            f"{who} invests in {d['capacity']:,.0f} t/yr (expects {d['expected_price']:.0f} "
            f"USD/kg, needs {d['incentive_price']:.0f}); ready in Q{d['ready_quarter']}"
        ),
    ),
}


def entry(quarter: int, kind: str, who: str = "", text: str = "", **data: Any) -> FeedEntry:
    """A feed entry with its text rendered from its numbers (or `text`, for a kind that is
    words by nature: a scenario's label, a player's decision)."""
    if kind not in KINDS:
        raise ValueError(f"unknown feed kind {kind!r}")
    data = {k: to_python(v) for k, v in data.items()}
    return FeedEntry(int(quarter), kind, who, data, text or KINDS[kind][2](who, data))


def by_rank(feed: list[FeedEntry]) -> list[FeedEntry]:
    """Newest quarter first and, within a quarter, what matters most first."""
    return sorted(feed, key=lambda e: (-e.quarter, e.rank))


def to_python(value: Any) -> Any:
    """numpy scalars as Python numbers, in lists and mappings too, so a record is JSON as it
    stands."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, list | tuple):
        return [to_python(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_python(v) for k, v in value.items()}
    return value
