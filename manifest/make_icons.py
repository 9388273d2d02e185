"""Draw Korttid's two Teams icons: ``color.png`` (192×192) and ``outline.png`` (32×32).

The symbol is a house with a clock in it: a short stay whose goal is going home.
Run it again after changing the drawing (``.venv/bin/python manifest/make_icons.py``);
the PNGs it writes are committed, so building the app package needs no drawing.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
ACCENT = (14, 124, 134)  # #0E7C86, the manifest's accentColor
WHITE = (255, 255, 255)
SUPERSAMPLE = 8  # draw large, then shrink: smooth edges without anti-aliasing support in ImageDraw

Box = tuple[float, float, float, float]


def draw_symbol(draw: ImageDraw.ImageDraw, box: Box, stroke: float, ink: tuple[int, ...]) -> None:
    """The house-and-clock symbol inside ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top

    def at(x: float, y: float) -> tuple[float, float]:
        return left + x * width, top + y * height

    line = round(stroke)
    # Roof: one polyline with rounded joints, so the peak does not end in a sharp spike.
    draw.line([at(0.04, 0.46), at(0.5, 0.06), at(0.96, 0.46)], fill=ink, width=line, joint="curve")
    # Walls and floor of the house.
    draw.line(
        [at(0.17, 0.36), at(0.17, 0.94), at(0.83, 0.94), at(0.83, 0.36)],
        fill=ink,
        width=line,
        joint="curve",
    )
    # The clock face, its hands at three o'clock.
    centre_x, centre_y = at(0.5, 0.64)
    radius = 0.19 * width
    draw.ellipse(
        [centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius],
        outline=ink,
        width=max(1, round(stroke * 0.8)),
    )
    hand = max(1, round(stroke * 0.7))
    draw.line([(centre_x, centre_y), at(0.5, 0.53)], fill=ink, width=hand)
    draw.line([(centre_x, centre_y), at(0.59, 0.64)], fill=ink, width=hand)


def render(
    size: int, *, background: tuple[int, ...] | None, padding: float, stroke: float
) -> Image.Image:
    """One icon: the symbol in white, on ``background`` or on transparency."""
    big = size * SUPERSAMPLE
    # Transparent pixels are white too, so shrinking never mixes a dark fringe into the edges.
    canvas = Image.new(
        "RGBA", (big, big), (*WHITE, 0) if background is None else (*background, 255)
    )
    inset = padding * big
    draw_symbol(
        ImageDraw.Draw(canvas),
        (inset, inset, big - inset, big - inset),
        stroke * SUPERSAMPLE,
        (*WHITE, 255),
    )
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    # Teams: the colour icon's symbol sits in the middle half; the outline icon fills its frame.
    color = render(192, background=ACCENT, padding=0.22, stroke=9)
    outline = render(32, background=None, padding=0.03, stroke=2.6)
    color.convert("RGB").save(HERE / "color.png", optimize=True)
    outline.save(HERE / "outline.png", optimize=True)
    print(f"wrote {HERE / 'color.png'} and {HERE / 'outline.png'}")


if __name__ == "__main__":
    main()
