"""The game's five live charts in one matplotlib figure, updated without redrawing the history.

Redrawing, not the model, is what makes Mesa apps slow: a full matplotlib draw of five panels
costs ~150 ms, a quarter of the market ~3 ms. So the figure is drawn in full only when it must
be (a new game, or an axis that has to grow, which the limits' headroom makes rare); its pixels
are kept, and each quarter only the lines and the dumping/response bands are drawn over a copy
of them (matplotlib's blitting), then sent as a quickly compressed PNG.

The time axis spans the whole game from the start, so lines grow to the right and never rescale.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

if TYPE_CHECKING:
    from viz.game import Game

DUMPING = "#d62728"
RESPONSE = "#2ca02c"
GHOST_ALPHA = 0.3
# How a flagged quarter looks: (colour, alpha, bottom, top in axes height). Dumping tints the
# whole panel; both flags also get their own strip along the time axis, so they never blend.
BAND_LOOKS: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    "dumping": ((DUMPING, 0.10, 0.0, 1.0), (DUMPING, 0.7, 0.0, 0.035)),
    "response_active": ((RESPONSE, 0.8, 0.035, 0.07),),
}

CAPTION = (
    "Red: quarters the allies flag dumping (tinted, with a red strip on the time axis). Green "
    "strip: the allies' response is in force. "
    "Prices are read against the allied producers' average cash cost (dashed): under it they "
    "lose money on every tonne. Faded lines: the earlier run, when you compare."
)


@dataclass(frozen=True)
class Trace:
    """One line: which panel, which recorded series, how it is scaled and drawn."""

    panel: str
    series: str
    label: str
    colour: str
    scale: float = 1.0
    style: str = "-"
    steps: bool = False
    zero_is_none: bool = False  # a floor of 0 means no floor: leave a gap


TRACES: tuple[Trace, ...] = (
    # The allied price is drawn last of the three: where trade ties it to the others, it stays
    # visible on top.
    Trace("price", "price_world", "rest of world", "#7f7f7f"),
    Trace("price", "price_home", "dominant's home", "#8c564b", style="-."),
    Trace("price", "price_allied", "allied price", "#1f77b4"),
    Trace("price", "allied_cash_cost", "allied cash cost", "#ff7f0e", style="--"),
    Trace(
        "price",
        "floor_in_force",
        "floor in force",
        "#9467bd",
        style=":",
        steps=True,
        zero_is_none=True,
    ),
    Trace("shares", "dominant_share", "dominant supplier (all sales)", DUMPING, 100.0),
    Trace("shares", "allied_supply_share", "allied sources (allied market)", "#1f77b4", 100.0),
    Trace("capacity", "allied_capacity", "allied capacity, kt/yr", "#1f77b4", 0.001),
    Trace("capacity", "idled_capacity", "of which idle, kt/yr", "#1f77b4", 0.001, style=":"),
    Trace("producers", "allied_producers_active", "producers in business", "#8c564b", steps=True),
    Trace("stockpile", "stockpile", "stockpile, t", "#17becf"),
    Trace("stockpile", "shortage", "shortage, t a quarter", DUMPING, style="--"),
    Trace("money", "fiscal_cost", "allied fiscal cost", RESPONSE),
    Trace("money", "dominant_sacrifice", "supplier's sacrifice", DUMPING),
)

# The price panel's title heads its legend, which sits above the panel: a price at the cap
# must not run under it.
TITLES = {
    "price": "Prices, USD/kg",
    "shares": "Market shares, %",
    "capacity": "Allied capacity and producers",
    "stockpile": "Allied stockpile and shortage",
    "money": "Money, USD m so far",
}

# Each panel's y-axis in its units (the producers' count has its own axis on the right).
UNITS = {
    "price": "USD/kg",
    "shares": "%",
    "capacity": "kt/yr",
    "stockpile": "t",
    "money": "USD m",
}

# The price axis never grows past the price cap (`demand.price_cap`, where buyers stop
# paying more) by more than this: a price at the cap fills the panel, not a fifth of it.
CAP_HEADROOM = 1.25


def nice_ceiling(x: float) -> float:
    """The next of 1, 2, 2.5, 5 times a power of ten at or above x."""
    if x <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= x)


def _compact(value: float, _pos: object = None) -> str:
    if abs(value) >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def projector_dashboard() -> Dashboard:
    """The charts for a projector at 1280x720: a narrower figure in inches drawn at more dots
    per inch, so shown across the screen's width every text is at least 12 px high (the
    smallest, the legends' 7 pt, at 1,264/9.6 = 132 px an inch) and the figure fits under a
    header on the screen."""
    return Dashboard(dpi=132, size=(9.6, 4.3))


class Dashboard:
    """The charts of one game. `live` figures keep their lines animated for blitting; an
    export figure (live=False) draws everything in one go."""

    def __init__(self, dpi: int = 72, size: tuple[float, float] = (12.5, 6.4), live: bool = True):
        self.dpi, self.size, self.live = dpi, size, live
        self.figure = Figure(figsize=size, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.key: tuple[int, int] | None = None
        self.axes: dict[str, Axes] = {}
        self.lines: dict[Trace, Line2D] = {}
        self.bands: dict[str, list[Rectangle]] = {}
        self.legends: dict[str, Legend] = {}
        self.ghosts: list[Line2D] = []
        self.legend_pixels: list = []
        self.background = None
        self.drawn = -1  # quarters drawn in the last image
        self.image = b""
        self.full_draws = 0
        self.clear: dict[str, float] = {}
        self.caps: dict[str, float] = {}  # a panel's highest sensible top: the price cap
        self.overlay = None  # a history game's observed lines (viz/history.py)

    # --- building ------------------------------------------------------------------------------

    def _layout(self, quarters: int, producers: int) -> None:
        """The panels, their axes and lines: made once, kept while games keep their length.

        The margins are fixed for this figure size rather than computed by a layout engine: a
        layout pass costs more than the rest of a full draw.
        """
        fig = self.figure
        fig.clear()
        grid = fig.add_gridspec(
            2, 6, left=0.06, right=0.975, top=0.83, bottom=0.1, wspace=1.15, hspace=0.45
        )
        ax = {
            "price": fig.add_subplot(grid[0, :3]),
            "shares": fig.add_subplot(grid[0, 3:]),
            "capacity": fig.add_subplot(grid[1, :2]),
            "stockpile": fig.add_subplot(grid[1, 2:4]),
            "money": fig.add_subplot(grid[1, 4:]),
        }
        ax["producers"] = ax["capacity"].twinx()
        self.axes = ax
        for name, axis in ax.items():
            axis.set_xlim(0.5, quarters + 0.5)
            axis.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
            if name == "producers":
                continue
            if name != "price":  # the price legend carries its title
                axis.set_title(TITLES[name], fontsize=10, loc="left")
            axis.grid(alpha=0.3)
            axis.tick_params(labelsize=8)
            axis.yaxis.set_major_formatter(FuncFormatter(_compact))
            axis.set_xlabel("quarter", fontsize=8, labelpad=1)
            axis.set_ylabel(UNITS[name], fontsize=8, labelpad=1)
        ax["shares"].set_ylim(0, 130)  # room above 100 % for the legend
        ax["shares"].set_yticks(range(0, 101, 20))
        ax["producers"].set_ylim(0, producers * 1.6 + 0.5)  # the legend sits above the line
        ax["producers"].yaxis.set_major_locator(MaxNLocator(integer=True))
        ax["producers"].tick_params(labelsize=8)
        ax["producers"].set_ylabel("producers", fontsize=8, labelpad=2)
        self.lines = {}
        for trace in TRACES:
            (line,) = ax[trace.panel].plot(
                [],
                [],
                trace.style,
                color=trace.colour,
                lw=1.8,
                label=trace.label,
                drawstyle="steps-mid" if trace.steps else "default",
                animated=self.live,
            )
            self.lines[trace] = line
        self.bands = {name: [] for name in ("price", "shares", "capacity", "stockpile", "money")}
        self.title = fig.suptitle("", fontsize=10, x=0.01, ha="left")
        self.layout_key = (quarters, producers)

    def build(self, game: Game) -> None:
        """Ready the panels for a fresh game (or a replay, with its ghost)."""
        key = (game.quarters, len(game.model.producers.ids))
        if getattr(self, "layout_key", None) != key:
            self._layout(*key)
        ax = self.axes
        for artist in [*self.ghosts, *(b for bands in self.bands.values() for b in bands)]:
            artist.remove()
        self.ghosts = []
        self.bands = {name: [] for name in self.bands}
        self._observe(game)
        for line in self.lines.values():
            line.set_data([], [])

        ghost = game.ghost
        if ghost is not None and ghost.series:
            for trace in TRACES:
                x, y = _xy(ghost.series, trace)
                (line,) = ax[trace.panel].plot(
                    x,
                    y,
                    trace.style,
                    color=trace.colour,
                    lw=1.4,
                    alpha=GHOST_ALPHA,
                    drawstyle="steps-mid" if trace.steps else "default",
                )
                self.ghosts.append(line)
        self._legends(ghost.label if ghost is not None else None)
        self._clear_of_legends()
        self._initial_limits(game)
        role = "" if game.role == "watch" else f", played as the {game.role}"
        mineral = game.model.spec.params.get("mineral", "")
        title = f"{game.scenario_name}: {mineral}, seed {game.seed}{role}"
        overrides = getattr(game, "overrides", None)  # a room's market has none
        if overrides:  # a replay says what it changed, on screen and in the export
            title += f"; replay: {game.describe_changes(overrides, compare=True)}"
        self.title.set_text(title)
        self.background = None
        self.drawn = -1
        self.image = b""

    def _legends(self, ghost_label: str | None) -> None:
        for legend in self.legends.values():
            legend.remove()
        self.legends = {}
        ax = self.axes
        extra = [
            Patch(color=DUMPING, alpha=0.35, label="dumping flagged"),
            Patch(color=RESPONSE, alpha=0.8, label="response active"),
        ]
        if ghost_label is not None:
            extra.append(Line2D([], [], color="#555555", alpha=GHOST_ALPHA, label=ghost_label))
        # Above the price panel, in rows of four under the panel's title.
        self.legends["price"] = ax["price"].legend(
            handles=[self.lines[t] for t in TRACES if t.panel == "price"]
            + extra
            + (self.overlay.handles("price") if self.overlay else []),
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            fontsize=7,
            framealpha=1.0,
            ncol=4,
            title=TITLES["price"],
            title_fontsize=10,
            alignment="left",
            borderaxespad=0.2,
            columnspacing=1.0,
            handlelength=1.8,
            frameon=False,
        )
        for name in ("shares", "stockpile", "money"):
            handles = [self.lines[t] for t in TRACES if t.panel == name]
            handles += self.overlay.handles(name) if self.overlay else []
            self.legends[name] = ax[name].legend(
                handles=handles,
                loc="upper left",
                fontsize=7,
                framealpha=1.0,
                ncol=2 if name == "shares" else 1,
            )
        self.legends["capacity"] = ax["capacity"].legend(
            handles=[self.lines[t] for t in TRACES if t.panel in ("capacity", "producers")]
            + (self.overlay.handles("capacity") if self.overlay else []),
            loc="upper right",
            fontsize=7,
            framealpha=1.0,
        )

    def _clear_of_legends(self) -> None:
        """The share of each panel's height below its legend: a line drawn higher would run
        under the legend's opaque box and vanish, so the limits keep the data under it."""
        renderer = self.canvas.get_renderer()
        self.clear = {}
        for name, legend in self.legends.items():
            panel = self.axes[name].get_window_extent(renderer)
            box = legend.get_window_extent(renderer)
            self.clear[name] = min(max((box.y0 - panel.y0) / panel.height - 0.03, 0.3), 1.0)

    def _initial_limits(self, game: Game) -> None:
        """Limits that the game is unlikely to outgrow, from what it starts with: each growth
        costs a full draw."""
        model = game.model
        self.caps = {"price": float(model.demand.price_cap)}
        governments = model.governments.values()
        # The price floors that can come into force (none while the alliance does nothing):
        # the chart draws the floor in force, never the one configured.
        can_act = model.response_group.response != "none"
        floors = [g.floor_price for g in governments if can_act]
        price_top = max(
            model.demand.reference_price * 1.1,
            float(model.producers.cash_cost.max(initial=0.0)) * 1.1,
            max(floors, default=0.0) * 1.05,
        )
        # Room for each producer's next expansion.
        book = model.producers
        capacity_top = float((book.capacity + book.expansion).sum()) / 1000 * 1.1
        stock = sum(max(g.stockpile, g.stockpile_target()) for g in governments)
        stock_top = max(stock * 1.2, 400.0)
        # Spending is bounded by the budgets in play: the supplier's sacrifice by its budget,
        # the allies' cost by their floor and stockpile budgets.
        budgets = sum(g.floor_budget + g.stockpile_budget for g in governments)
        money_top = max(model.supplier.budget, budgets, 100.0) * 1.1
        tops = {
            "price": price_top,
            "capacity": capacity_top,
            "stockpile": stock_top,
            "money": money_top,
        }
        for name, top in tops.items():
            top = nice_ceiling(top / self.clear.get(name, 1.0))
            if name in self.caps:
                top = min(top, self.caps[name] * CAP_HEADROOM)
            self.axes[name].set_ylim(0, top)
        if game.ghost is not None:
            self._grow(game.ghost.series)

    # --- updating ------------------------------------------------------------------------------

    def _grow(self, series: dict[str, np.ndarray]) -> bool:
        """Widen any panel the data has outgrown, with headroom; True if one was widened. The
        price axis stops at the price cap with a little headroom (`CAP_HEADROOM`): no price
        goes above the cap, so doubling past it only squashes the lines."""
        grew = False
        for name in ("price", "capacity", "stockpile", "money"):
            values = [_xy(series, t)[1] for t in TRACES if t.panel == name and t.series in series]
            values = [v[np.isfinite(v)] for v in values if len(v)]
            if not values or not any(len(v) for v in values):
                continue
            low = min(float(v.min()) for v in values if len(v))
            high = max(float(v.max()) for v in values if len(v))
            bottom, top = self.axes[name].get_ylim()
            clear = self.clear.get(name, 1.0)
            # Twice the need: an axis that grows at all grows once or twice a game, not often.
            new_top = nice_ceiling(max(high * 2, high / clear)) if high > top * clear else top
            limit = self.caps.get(name)
            if limit and new_top != top:
                new_top = max(min(new_top, limit * CAP_HEADROOM), high / clear, top)
            new_bottom = -nice_ceiling(-low * 2) if low < bottom else bottom
            if (new_bottom, new_top) != (bottom, top):
                self.axes[name].set_ylim(new_bottom, new_top)
                grew = True
        return grew

    def _observe(self, game: Game) -> None:
        """The observed lines of the episode a history game plays (none for other games)."""
        from viz.history import overlay

        if self.overlay is not None:
            self.overlay.remove()
        self.overlay = overlay(self.axes, game, self.live)
        self.observed_values: dict[str, np.ndarray] = {}

    def _update(self, series: dict[str, np.ndarray], quarters: int) -> None:
        for trace, line in self.lines.items():
            line.set_data(*_xy(series, trace))
        if self.overlay is not None:
            self.observed_values = self.overlay.update(series)
        for name, bands in self.bands.items():
            axis = self.axes[name]
            spans = [
                (look, start, end)
                for flag, looks in BAND_LOOKS.items()
                for start, end in _periods(series.get(flag, np.zeros(0)))
                for look in looks
            ]
            while len(bands) < len(spans):
                band = Rectangle(
                    (0, 0), 0, 1, transform=axis.get_xaxis_transform(), lw=0, animated=self.live
                )
                axis.add_patch(band)
                bands.append(band)
            for band, ((colour, alpha, y0, y1), start, end) in zip(bands, spans, strict=False):
                band.set_bounds(start - 0.5, y0, end - start + 1, y1 - y0)
                band.set_facecolor(colour)
                band.set_alpha(alpha)
                band.set_visible(True)
            for band in bands[len(spans) :]:
                band.set_visible(False)

    def _artists(self) -> list[tuple[Axes, object]]:
        out: list[tuple[Axes, object]] = []
        for name, bands in self.bands.items():
            out += [(self.axes[name], band) for band in bands]
        out += [(self.axes[trace.panel], line) for trace, line in self.lines.items()]
        out += self.overlay.artists() if self.overlay else []
        return out

    def png(self, game: Game) -> bytes:
        """The charts as they stand, as PNG bytes; the same bytes again when nothing changed."""
        key = (id(game), game.generation)
        if key != self.key:
            self.build(game)
            self.key = key
        series = game.arrays()
        quarters = len(series.get("quarter", ()))
        if quarters == self.drawn and self.image:
            return self.image
        self._update(series, quarters)
        grew = self._grow(series)
        grew = bool(self.overlay and self._grow(self.observed_values)) or grew
        if grew or self.background is None:
            self.canvas.draw()  # everything but the animated lines and bands
            self.background = self.canvas.copy_from_bbox(self.figure.bbox)
            # The legends' pixels, pasted back over the lines each frame (an opaque legend
            # box costs a copy; drawing its text again would cost more than the rest).
            self.legend_pixels = [
                self.canvas.copy_from_bbox(legend.get_window_extent())
                for legend in self.legends.values()
            ]
            self.full_draws += 1
        else:
            self.canvas.restore_region(self.background)
        for axis, artist in self._artists():
            if artist.get_visible():
                axis.draw_artist(artist)
        for pixels in self.legend_pixels:
            self.canvas.restore_region(pixels)
        self.image, self.drawn = fast_png(np.asarray(self.canvas.buffer_rgba())), quarters
        return self.image


def export_png(game: Game, dpi: int = 150) -> bytes:
    """The charts as a PNG file for a debrief: everything drawn, at print resolution."""
    board = Dashboard(dpi=dpi, live=False)
    board.build(game)
    series = game.arrays()
    board._update(series, len(series.get("quarter", ())))
    board._grow(series)
    if board.overlay:
        board._grow(board.observed_values)
    buffer = io.BytesIO()
    board.figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def fast_png(rgba: np.ndarray) -> bytes:
    """An RGB PNG written with no row filter and zlib at level 1.

    A chart is mostly runs of one colour, which zlib alone packs well; PNG's adaptive row
    filters (what Pillow always applies) cost more time than the rest of a frame.
    """
    height, width = rgba.shape[:2]
    rows = np.zeros((height, width * 3 + 1), np.uint8)  # a 0 byte per row: filter "none"
    rows[:, 1:] = rgba[:, :, :3].reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
        + chunk(b"IEND", b"")
    )


def _xy(series: dict[str, np.ndarray], trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(series.get(trace.series, np.zeros(0)), float) * trace.scale
    if trace.zero_is_none:
        y = np.where(y > 0, y, np.nan)
    x = np.arange(1, len(y) + 1, dtype=float)
    return x, y


def _periods(flags: np.ndarray) -> list[tuple[int, int]]:
    """Runs of true flags as (first quarter, last quarter), quarters counted from 1."""
    out, start = [], None
    for quarter, on in enumerate(np.asarray(flags, bool), start=1):
        if on and start is None:
            start = quarter
        elif not on and start is not None:
            out.append((start, quarter - 1))
            start = None
    if start is not None:
        out.append((start, len(flags)))
    return out
