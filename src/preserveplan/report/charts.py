"""Small inline SVG charts, written by hand (no library, no script, no network).

Every text that reaches the SVG is escaped with :func:`markupsafe.escape`; the functions return
:class:`markupsafe.Markup`, so Jinja inserts them as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

PALETTE = {
    "preservation": "#2e7d32",
    "acceptable": "#7cb342",
    "migrate": "#f9a825",
    "at-risk": "#c62828",
    "unknown": "#757575",
    "unassessed": "#b0bec5",
}
BAR = "#1565c0"
FONT = "font-family:sans-serif;font-size:12px"


def _e(text: object) -> str:
    return str(escape(str(text)))


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg role="img" aria-label="{_e(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" style="{FONT}">'
        f"<title>{_e(label)}</title>" + "".join(body) + "</svg>"
    )


def stacked_bar(
    label: str,
    parts: Sequence[tuple[str, str, float, str]],
    width: int = 640,
) -> Markup:
    """One horizontal bar split into parts (key, name, value, value text) with a legend."""
    total = sum(v for _, _, v, _ in parts if v > 0)
    body: list[str] = []
    x = 0.0
    bar_h = 28
    if total > 0:
        for key, name, value, text in parts:
            if value <= 0:
                continue
            w = width * value / total
            body.append(
                f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{bar_h}" '
                f'fill="{PALETTE.get(key, BAR)}"><title>{_e(name)}: {_e(text)}</title></rect>'
            )
            x += w
    else:
        body.append(f'<rect x="0" y="0" width="{width}" height="{bar_h}" fill="#eeeeee"/>')
    y = bar_h + 20
    shown = [p for p in parts if p[2] > 0]
    for i, (key, name, _, text) in enumerate(shown):
        col, row = i % 2, i // 2
        lx, ly = col * (width // 2), y + row * 20
        body.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" '
            f'fill="{PALETTE.get(key, BAR)}"/>'
            f'<text x="{lx + 18}" y="{ly}">{_e(name)}: {_e(text)}</text>'
        )
    height = y + ((len(shown) + 1) // 2) * 20
    return _svg(width, height, label, body)


def hbars(
    label: str,
    rows: Sequence[tuple[str, float]],
    fmt: Callable[[float], str],
    width: int = 640,
    label_width: int = 160,
) -> Markup:
    """Horizontal bars, one per (name, value), value written at the end of each bar."""
    bar_h, gap = 18, 6
    top = max((v for _, v in rows), default=0) or 1
    room = width - label_width - 90
    body: list[str] = []
    for i, (name, value) in enumerate(rows):
        y = i * (bar_h + gap)
        w = max(0.0, room * value / top)
        shown = name if len(name) <= 24 else name[:23] + "…"
        body.append(
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{_e(shown)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{w:.2f}" height="{bar_h}" fill="{BAR}">'
            f"<title>{_e(name)}: {_e(fmt(value))}</title></rect>"
            f'<text x="{label_width + w + 4:.2f}" y="{y + 13}">{_e(fmt(value))}</text>'
        )
    height = max(1, len(rows)) * (bar_h + gap)
    return _svg(width, height, label, body)


def lines(
    label: str,
    xs: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    fmt: Callable[[float], str],
    width: int = 640,
    height: int = 220,
) -> Markup:
    """A line chart: x labels, and series (key, name, values) drawn on a common y axis."""
    left, right, top, bottom = 70, 20, 10, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    ymax = max((v for _, _, vals in series for v in vals), default=0) or 1
    n = len(xs)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h - plot_h * v / ymax

    body: list[str] = []
    for k in range(5):
        v = ymax * k / 4
        y = py(v)
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(fmt(v))}</text>'
        )
    for i, x in enumerate(xs):
        body.append(
            f'<text x="{px(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{_e(x)}</text>'
        )
    for s_i, (key, name, vals) in enumerate(series):
        colour = PALETTE.get(key, BAR)
        points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(vals))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v in enumerate(vals):
            body.append(
                f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{colour}">'
                f"<title>{_e(name)} {_e(xs[i])}: {_e(fmt(v))}</title></circle>"
            )
        lx = left + s_i * 200
        body.append(
            f'<rect x="{lx}" y="{height - 14}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{lx + 18}" y="{height - 8}">{_e(name)}</text>'
        )
    return _svg(width, height, label, body)
