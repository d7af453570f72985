"""Rates from cumulative counts (a stream's last sequence, a consumer's deliveries so far): the console keeps the
samples of the last window in memory, so a rate needs no store and no background task, only two looks at the
broker (two page loads, or the flow page refreshing itself)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

WINDOW_SECONDS = 30.0  # a rate covers about the last this many seconds
MIN_SPAN_SECONDS = 1.0  # two samples closer than this measure timing noise more than traffic
MAX_SPAN_SECONDS = 300.0  # a baseline older than this would show an average of long ago, not a rate now
MAX_SAMPLES = 256  # many open pages refreshing at once keep at most this many


@dataclass(frozen=True)
class Rates:
    """Each count's change per second since the baseline sample, `over_seconds` before this one."""

    over_seconds: float | None  # None: no sample to compare with yet (the first look, or the last one long ago)
    per_second: dict[str, float] = field(default_factory=dict)

    def of(self, key: str) -> float | None:
        """None when unknown: no baseline, a count first seen now, or one that went down (a recreated consumer)."""
        return self.per_second.get(key)


@dataclass
class RateSampler:
    """The samples of the last window, oldest first; each new one is compared with the oldest still useful."""

    window_seconds: float = WINDOW_SECONDS
    min_span_seconds: float = MIN_SPAN_SECONDS
    max_span_seconds: float = MAX_SPAN_SECONDS
    samples: deque[tuple[float, dict[str, int]]] = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))

    def add(self, counts: Mapping[str, int], at: float) -> Rates:
        """Keep this sample (taken at monotonic time `at`) and answer the rates since the baseline."""
        # Drop what is older than the window, but keep the newest such sample while nothing younger is old
        # enough: with a refresh every few seconds the baseline is then about one window old.
        while len(self.samples) >= 2 and at - self.samples[1][0] >= self.window_seconds:
            self.samples.popleft()
        baseline = next(((taken, old) for taken, old in self.samples
                         if self.min_span_seconds <= at - taken <= self.max_span_seconds), None)
        self.samples.append((at, dict(counts)))
        if baseline is None:
            return Rates(None)
        taken, old = baseline
        span = at - taken
        return Rates(span, {key: (count - old[key]) / span for key, count in counts.items()
                            if key in old and count >= old[key]})
