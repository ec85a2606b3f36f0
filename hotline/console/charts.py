"""Server-rendered SVG charts (no JavaScript): one KPI's daily rate over a period, as a line
with a dot per day, above the day's volume (its denominator) as bars."""

from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP = 34, 8, 8
RATE_H = 78                    # the rate's plot, from TOP down
BARS_TOP, BARS_H = 96, 32      # the volume bars under it
AXIS_Y = HEIGHT - 5


def rate_chart(points: list[tuple[date, int, int]], title: str) -> Markup:
    """Daily rate in percent (days without a denominator leave a gap in the line) and, under
    it, each day's denominator as a bar, scaled to the period's largest."""
    plot_w = WIDTH - LEFT - RIGHT
    step = plot_w / max(len(points), 1)

    def x(index: int) -> float:
        return LEFT + step * (index + 0.5)

    def y(rate: float) -> float:
        return TOP + RATE_H * (1 - rate)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for level in (0, 0.5, 1):
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}" '
                     f'y2="{y(level):.1f}"/><text class="axis" x="{LEFT - 4}" y="{y(level) + 3:.1f}" '
                     f'text-anchor="end">{int(level * 100)}%</text>')
    parts += _bars(points, x, step)
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
        parts.append(f'<text class="axis" x="{LEFT}" y="{AXIS_Y}">{first:%m-%d}</text>')
        parts.append(f'<text class="axis" x="{WIDTH - RIGHT}" y="{AXIS_Y}" '
                     f'text-anchor="end">{last:%m-%d}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _bars(points: list[tuple[date, int, int]], x, step: float) -> list[str]:
    """Each day's denominator as a bar (its count in the bar's tooltip); the scale's top
    labelled on the left."""
    most = max((denominator for _day, _n, denominator in points), default=0)
    if not most:
        return []
    width = max(step * 0.7, 1)
    parts = [f'<text class="axis" x="{LEFT - 4}" y="{BARS_TOP + 7}" text-anchor="end">{most}</text>',
             f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{BARS_TOP + BARS_H}" '
             f'y2="{BARS_TOP + BARS_H}"/>']
    for index, (day, _numerator, denominator) in enumerate(points):
        if not denominator:
            continue
        height = max(BARS_H * denominator / most, 1)
        parts.append(f'<rect class="bar" x="{x(index) - width / 2:.1f}" '
                     f'y="{BARS_TOP + BARS_H - height:.1f}" width="{width:.1f}" height="{height:.1f}">'
                     f'<title>{day.isoformat()}: {denominator}</title></rect>')
    return parts
