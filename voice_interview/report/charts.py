"""Chart data for the HTML report: pure functions from transcripts and results to coordinates.

Nothing here writes SVG text; the template draws the shapes these functions place. Times are in
seconds from the start of one answer's audio; x and y are SVG user units (y grows downwards).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from voice_interview.core.transcript import Word
from voice_interview.scoring.result import BAND_LINES

__all__ = [
    "ChartBox",
    "DeliveryChart",
    "HistoryChart",
    "HistoryLine",
    "Mark",
    "PaceWindow",
    "Span",
    "Tick",
    "clip_spans",
    "clip_times",
    "delivery_chart",
    "history_chart",
    "nice_step",
    "pace_windows",
]


@dataclass(frozen=True)
class PaceWindow:
    """Words per minute over ``[start_s, end_s)``: words whose start falls inside, per minute."""

    start_s: float
    end_s: float
    words: int

    @property
    def mid_s(self) -> float:
        return (self.start_s + self.end_s) / 2

    @property
    def wpm(self) -> float:
        return 60.0 * self.words / (self.end_s - self.start_s)


def pace_windows(
    words: Sequence[Word], duration_s: float, window_s: float = 10.0, step_s: float = 5.0
) -> list[PaceWindow]:
    """Speaking pace in sliding windows of ``window_s`` every ``step_s`` seconds.

    A word counts in a window when its start time falls inside it. The last window is cut at
    ``duration_s``; a cut window shorter than half of ``window_s`` is dropped (too few words to
    mean anything) unless it is the only one. An answer shorter than ``window_s`` gets one
    window over the whole of it. No duration: no windows.
    """
    if window_s <= 0 or step_s <= 0:
        raise ValueError(f"window_s and step_s must be positive, got {window_s}, {step_s}")
    if duration_s <= 0:
        return []
    starts = sorted(w.start_s for w in words)
    windows: list[PaceWindow] = []
    t = 0.0
    while t < duration_s:
        end = min(t + window_s, duration_s)
        if windows and end - t < window_s / 2:
            break
        count = sum(1 for s in starts if t <= s < end or (end == duration_s and s == end))
        windows.append(PaceWindow(round(t, 3), round(end, 3), count))
        if end >= duration_s:
            break
        t += step_s
    return windows


def clip_spans(
    spans: Sequence[tuple[float, float]], start_s: float, end_s: float
) -> list[tuple[float, float]]:
    """The parts of ``spans`` inside ``[start_s, end_s]``, moved so ``start_s`` becomes 0.

    Used to show one turn of a combined answer (the follow-up part of a main + follow-up
    evaluation) on its own audio's time axis.
    """
    out = []
    for a, b in spans:
        lo, hi = max(a, start_s), min(b, end_s)
        if hi > lo:
            out.append((round(lo - start_s, 3), round(hi - start_s, 3)))
    return out


def clip_times(times: Sequence[float], start_s: float, end_s: float) -> list[float]:
    """The times in ``[start_s, end_s)``, moved so ``start_s`` becomes 0."""
    return [round(t - start_s, 3) for t in times if start_s <= t < end_s]


# --- layout --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartBox:
    """The plotting area inside an SVG of ``width`` x ``height``."""

    width: float = 720.0
    height: float = 170.0
    left: float = 44.0
    right: float = 12.0
    top: float = 12.0
    bottom: float = 40.0

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        """Top of the plotting area."""
        return self.top

    @property
    def y1(self) -> float:
        """Bottom of the plotting area."""
        return self.height - self.bottom


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Span:
    """A horizontal range drawn as a band: ``x``..``x + w``, with its times for the tooltip."""

    x: float
    w: float
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Mark:
    """A point event (a filler) at ``x``, with its time and a label."""

    x: float
    time_s: float
    label: str


_TIME_STEPS_S = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600)


def nice_step(span_s: float, max_ticks: int = 8) -> float:
    """A clock-friendly tick step (1, 2, 5, 10, 15, 20, 30 s, 1, 2, 5, 10 min) giving at most
    ``max_ticks`` intervals over ``span_s``."""
    for step in _TIME_STEPS_S:
        if span_s / step <= max_ticks:
            return float(step)
    return float(math.ceil(span_s / max_ticks / 600) * 600)


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


@dataclass(frozen=True)
class DeliveryChart:
    """Everything the template needs to draw one answer's delivery chart."""

    box: ChartBox
    duration_s: float
    wpm_max: float
    pace_points: tuple[tuple[float, float], ...]
    norm_band: tuple[float, float] | None  # y of the top and bottom of the good-pace band
    norm_label: str
    pauses: tuple[Span, ...]
    fillers: tuple[Mark, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    filler_row_y: float
    windows: tuple[PaceWindow, ...] = field(default=())

    @property
    def pace_path(self) -> str:
        """SVG polyline points ("x,y x,y ...")."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.pace_points)


def delivery_chart(
    words: Sequence[Word],
    duration_s: float,
    pauses: Sequence[tuple[float, float]],
    fillers: Sequence[tuple[float, str]],
    *,
    good_wpm: tuple[float, float] | None = (120.0, 160.0),
    box: ChartBox | None = None,
    window_s: float = 10.0,
    step_s: float = 5.0,
) -> DeliveryChart | None:
    """Place pace over time, long pauses and fillers on one time axis (None without timing).

    ``pauses`` are (start_s, end_s) of long pauses; ``fillers`` are (time_s, word). The pace
    axis runs from 0 to the larger of 200 wpm and the fastest window, rounded up to 50.
    """
    if duration_s <= 0:
        return None
    b = box or ChartBox()
    windows = pace_windows(words, duration_s, window_s, step_s)
    fastest = max((w.wpm for w in windows), default=0.0)
    wpm_max = max(200.0, math.ceil(fastest / 50.0) * 50.0)

    def x(t: float) -> float:
        return b.x0 + (b.x1 - b.x0) * min(max(t, 0.0), duration_s) / duration_s

    def y(wpm: float) -> float:
        return b.y1 - (b.y1 - b.y0) * min(wpm, wpm_max) / wpm_max

    points = tuple((x(w.mid_s), y(w.wpm)) for w in windows)
    if len(points) == 1:  # one window: a flat line across it rather than a lone dot
        only = windows[0]
        points = ((x(only.start_s), points[0][1]), (x(only.end_s), points[0][1]))
    band = (y(good_wpm[1]), y(good_wpm[0])) if good_wpm else None
    label = f"{good_wpm[0]:.0f}-{good_wpm[1]:.0f} wpm" if good_wpm else ""
    step = nice_step(duration_s)
    x_ticks = tuple(
        Tick(x(k * step), _clock(k * step)) for k in range(int(duration_s / step + 1e-9) + 1)
    )
    y_step = 50.0 if wpm_max <= 300 else 100.0
    y_ticks = tuple(
        Tick(y(k * y_step), f"{k * y_step:.0f}") for k in range(int(wpm_max / y_step) + 1)
    )
    return DeliveryChart(
        box=b,
        duration_s=duration_s,
        wpm_max=wpm_max,
        pace_points=points,
        norm_band=band,
        norm_label=label,
        pauses=tuple(
            Span(x(a), max(1.5, x(c) - x(a)), a, c) for a, c in pauses if c > a and a < duration_s
        ),
        fillers=tuple(Mark(x(t), t, word) for t, word in fillers if 0 <= t <= duration_s),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        filler_row_y=b.y1 + 24.0,
        windows=tuple(windows),
    )


# --- history -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    """One series (a round) on the progress chart: points at session positions."""

    name: str
    colour: str
    points: tuple[tuple[float, float, float, str], ...]  # (x, y, score, tooltip)
    legend_x: float = 0.0
    dashed: bool = False

    @property
    def path(self) -> str:
        return " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in self.points)


@dataclass(frozen=True)
class HistoryChart:
    box: ChartBox
    lines: tuple[HistoryLine, ...]
    x_ticks: tuple[tuple[Tick, str], ...]  # (tick, SVG text-anchor)
    y_ticks: tuple[Tick, ...]
    bands: tuple[Tick, ...]  # horizontal guides at the band thresholds


PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2")


def history_chart(
    session_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    dashed: Sequence[str] = (),
    thresholds: Sequence[tuple[float, str]] = BAND_LINES,
    box: ChartBox | None = None,
) -> HistoryChart:
    """Scores (0-100) per session for each named series, sessions evenly spaced in order.

    ``series`` holds one value per session label (None where that session has no score for
    the series); a line joins the scores it has. Series named in ``dashed`` are drawn dashed
    (a summary line over the others).
    """
    b = box or ChartBox(height=220.0, bottom=48.0)
    n = len(session_labels)

    def x(i: int) -> float:
        if n <= 1:
            return (b.x0 + b.x1) / 2
        return b.x0 + 10 + (b.x1 - b.x0 - 20) * i / (n - 1)

    def y(score: float) -> float:
        return b.y1 - (b.y1 - b.y0) * score / 100.0

    lines = []
    legend_x = b.x0
    for k, (name, values) in enumerate(series):
        if len(values) != n:
            raise ValueError(f"series {name!r} has {len(values)} values for {n} sessions")
        points = tuple(
            (x(i), y(v), v, f"{name}: {v:.0f} ({session_labels[i]})")
            for i, v in enumerate(values)
            if v is not None
        )
        colour = "#374151" if name in dashed else PALETTE[k % len(PALETTE)]
        lines.append(HistoryLine(name, colour, points, legend_x, name in dashed))
        legend_x += 34 + 6.5 * len(name)  # about the width of 11px text
    every = max(1, math.ceil(n / 8))  # at most about 8 labels under the axis

    def anchor(i: int) -> str:
        if n > 1 and i == 0:
            return "start"
        return "end" if n > 1 and i == n - 1 else "middle"

    x_ticks = tuple((Tick(x(i), session_labels[i]), anchor(i)) for i in range(0, n, every))
    y_ticks = tuple(Tick(y(v), f"{v}") for v in range(0, 101, 25))
    bands = tuple(Tick(y(v), label) for v, label in thresholds)
    return HistoryChart(b, tuple(lines), x_ticks, y_ticks, bands)
