"""Server-rendered SVG line charts: one KPI's daily rate over a period (no JavaScript)."""

from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 320, 120
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 8, 20


def rate_chart(points: list[tuple[date, int, int]], title: str) -> Markup:
    """Daily rate in percent; days without a denominator leave a gap in the line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(points) - 1, 1)

    def x(index: int) -> float:
        return LEFT + plot_w * index / count

    def y(rate: float) -> float:
        return TOP + plot_h * (1 - rate)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for level in (0, 0.5, 1):
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}" '
                     f'y2="{y(level):.1f}"/><text class="axis" x="{LEFT - 4}" y="{y(level) + 3:.1f}" '
                     f'text-anchor="end">{int(level * 100)}%</text>')
    segments, current = [], []
    for index, (_day, numerator, denominator) in enumerate(points):
        if denominator:
            current.append((x(index), y(numerator / denominator), numerator, denominator, _day))
        elif current:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    for segment in segments:
        if len(segment) > 1:
            coords = " ".join(f"{px:.1f},{py:.1f}" for px, py, *_ in segment)
            parts.append(f'<polyline class="line" points="{coords}"/>')
        for px, py, numerator, denominator, day in segment:
            parts.append(f'<circle class="dot" cx="{px:.1f}" cy="{py:.1f}" r="2.5">'
                         f'<title>{day.isoformat()}: {numerator}/{denominator}</title></circle>')
    if points:
        first, last = points[0][0], points[-1][0]
        parts.append(f'<text class="axis" x="{LEFT}" y="{HEIGHT - 5}">{first:%m-%d}</text>')
        parts.append(f'<text class="axis" x="{WIDTH - RIGHT}" y="{HEIGHT - 5}" '
                     f'text-anchor="end">{last:%m-%d}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
