"""The trend chart: the last 12 weeks of three indicators as a small PNG.

Why embedded as a data URI rather than served from the bot: the digest then carries everything
it shows. The bot keeps no image store, no signed-URL secret and no extra public route (with its
own authentication and expiry to get right), a second instance needs nothing from the first, and
the card still renders when it is opened weeks later or forwarded, when an expiring URL would be
dead. The price is size: Teams refuses cards over 28 KB, so the PNG is drawn small (low dpi, flat
colours, no transparency) and reduced to a 16-colour palette, which lands around 10 KB, about
14 KB as base64. ``tests/test_digest.py`` checks the whole card stays under the limit.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from notifications.indicators import LONG_STAY_DAYS, TrendPoint

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_PX = 560
HEIGHT_PX = 420
SCREEN_DPI = 80
PALETTE_COLOURS = 16

LINE = "#1f5fa8"
TARGET = "#9a9a9a"
TEXT = "#333333"


def render_trend_png(
    points: Sequence[TrendPoint], labels: dict[str, Any], *, scale: float = 1.0
) -> bytes:
    """Three stacked panels: follow-up within 7 days (%), average stay (days), payment (kr).

    ``labels`` is the catalogue's ``[digest.chart]`` table (titles and "no data" texts);
    ``scale`` > 1 draws a sharper image for print (the HTML report).
    """
    # Imported here, not at the top: matplotlib and numpy are some 40 MB that a serving process
    # only needs once a week, for the digest.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = SCREEN_DPI * scale
    figure = Figure(figsize=(WIDTH_PX / SCREEN_DPI, HEIGHT_PX / SCREEN_DPI), dpi=dpi)
    figure.patch.set_facecolor("white")
    FigureCanvasAgg(figure)
    axes = figure.subplots(3, 1, sharex=True)
    weeks = [f"v{p.week.start.isocalendar().week}" for p in points]
    positions = list(range(len(points)))

    share = [_pct(p.followup_within_7_share) for p in points]
    _line_panel(axes[0], positions, share, 100.0, labels["followup_title"], labels)
    axes[0].set_ylim(-5, 105)
    days = [_num(p.average_stay_days) for p in points]
    _line_panel(axes[1], positions, days, float(LONG_STAY_DAYS), labels["stay_title"], labels)
    kronor = [_num(p.payment) for p in points]
    _bar_panel(axes[2], positions, kronor, labels["payment_title"], labels)

    axes[2].set_xticks(positions, weeks, fontsize=7, color=TEXT)
    figure.subplots_adjust(left=0.11, right=0.98, top=0.94, bottom=0.07, hspace=0.42)
    raw = io.BytesIO()
    figure.savefig(raw, format="png", dpi=dpi, facecolor="white")
    return _to_palette(raw.getvalue())


def _pct(value: float | None) -> float:
    return math.nan if value is None else value * 100


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _style(ax: Axes, title: str) -> None:
    ax.set_title(title, fontsize=9, loc="left", color=TEXT)
    ax.tick_params(labelsize=7, colors=TEXT)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)


def _line_panel(
    ax: Axes,
    x: list[int],
    values: list[float],
    target: float,
    title: str,
    labels: dict[str, Any],
) -> None:
    _style(ax, title)
    ax.axhline(target, color=TARGET, linestyle="--", linewidth=1)
    ax.plot(x, values, color=LINE, linewidth=1.6, marker="o", markersize=3)
    if all(math.isnan(v) for v in values):
        _note(ax, labels["no_data"])
    else:
        top = max(v for v in values if not math.isnan(v))
        if target >= 14 and top > target:
            ax.set_ylim(0, top * 1.15)
        elif target >= 14:
            ax.set_ylim(0, target * 1.3)


def _bar_panel(
    ax: Axes, x: list[int], values: list[float], title: str, labels: dict[str, Any]
) -> None:
    _style(ax, title)
    if all(math.isnan(v) for v in values):
        ax.set_yticks([])
        _note(ax, labels["not_configured"])
        return
    heights = [0 if math.isnan(v) else v for v in values]
    ax.bar(x, heights, color=LINE, width=0.6)
    ax.yaxis.set_major_formatter(lambda value, _pos: f"{value:,.0f}".replace(",", " "))
    ax.set_ylim(0, max(max(heights) * 1.15, 10_000))


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=TEXT)


def _to_palette(png: bytes) -> bytes:
    """Flat colours: a 16-colour palette keeps the image a fraction of its RGBA size."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    reduced = image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
