"""Charts as inline SVG drawn on the server: no script, no library, nothing fetched from elsewhere.

Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` (read by screen readers; the figures are
also in the table beside it), a ``viewBox`` so it scales to the page width (1280 px or a phone), and colours that
stay distinguishable for the common colour-vision deficiencies (Okabe-Ito palette). Every text is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

__all__ = ["PALETTE", "bar_chart", "line_chart"]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
W, H = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 64


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def _frame(chart_id: str, title: str, desc: str, top: float) -> list[str]:
    parts = [
        f'<svg id="{_e(chart_id)}" class="chart" role="img" viewBox="0 0 {W} {H}" '
        f'aria-labelledby="{_e(chart_id)}-t {_e(chart_id)}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_e(chart_id)}-t">{_e(title)}</title><desc id="{_e(chart_id)}-d">{_e(desc)}</desc>',
    ]
    plot_h = H - TOP - BOTTOM
    for i in range(5):
        y = TOP + plot_h * i / 4
        value = top * (4 - i) / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{value:g}</text>')
    return parts


def _legend(names: Sequence[str]) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        x = LEFT + i * 150
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{H - 18}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{H - 8}" font-size="12">{_e(name)}</text>')
    return parts


def bar_chart(chart_id: str, title: str, periods: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    """Grouped bars: one group per period, one bar per series (legend names are the mapping's keys)."""
    names = list(series)
    top = _nice_max(max((v for values in series.values() for v in values), default=0))
    desc = "; ".join(f"{p}: " + ", ".join(f"{n} {series[n][i]:g}" for n in names) for i, p in enumerate(periods))
    parts = _frame(chart_id, title, desc, top)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    group_w = plot_w / max(1, len(periods))
    bar_w = max(2.0, group_w * 0.8 / max(1, len(names)))
    for i, period in enumerate(periods):
        x0 = LEFT + group_w * i + group_w * 0.1
        for j, name in enumerate(names):
            value = series[name][i]
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x0 + j * bar_w:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{_e(period)} — {_e(name)}: {value:g}</title></rect>'
            )
        parts.append(f'<text x="{LEFT + group_w * (i + 0.5):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11">{_e(period)}</text>')
    return "".join(parts + _legend(names) + ["</svg>"])


def line_chart(chart_id: str, title: str, periods: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    """One line (with dots) per series across the periods."""
    names = list(series)
    top = _nice_max(max((v for values in series.values() for v in values), default=0))
    desc = "; ".join(f"{n}: " + ", ".join(f"{p} {series[n][i]:g}" for i, p in enumerate(periods)) for n in names)
    parts = _frame(chart_id, title, desc, top)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    step = plot_w / max(1, len(periods))
    for i, period in enumerate(periods):
        parts.append(f'<text x="{LEFT + step * (i + 0.5):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11">{_e(period)}</text>')
    for j, name in enumerate(names):
        colour = PALETTE[j % len(PALETTE)]
        points = [(LEFT + step * (i + 0.5), TOP + plot_h - plot_h * v / top) for i, v in enumerate(series[name])]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), value, period in zip(points, series[name], periods, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                         f'<title>{_e(name)} — {_e(period)}: {value:g}</title></circle>')
    return "".join(parts + _legend(names) + ["</svg>"])
