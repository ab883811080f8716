"""A live progress line for loops that ``model.fit`` does not run (an agent's environment steps).

It follows what ``fit`` prints: on a terminal (``verbose=1``) one line rewritten in place; in a
log or a pipe (``verbose=2``, or ``"auto"`` when the stream is not a terminal) a plain line every
``every_s`` seconds of wall time and one at the end, so a run started with ``> train.log`` or
under a job scheduler shows it is alive. ``verbose=0`` prints nothing. A line reads like SB3's
logger: ``4,096/100,000 steps - 1,830 steps/s - mean_return 23.4 - loss 0.0412 - ETA 0:52``.
"""

from __future__ import annotations

import math
import numbers
import sys
import time
from typing import Any, TextIO

from fdl_keras.errors import InvalidInputError

#: Seconds between rewrites of a terminal line (a loop of short steps would flood the tty).
TTY_INTERVAL_S = 0.1


def resolve_verbose(verbose: int | str, stream: TextIO | None = None) -> int:
    """``verbose`` as 0, 1 or 2: ``"auto"`` is 1 on a terminal, 2 otherwise."""
    if verbose == "auto":
        stream = stream or sys.stdout
        return 1 if getattr(stream, "isatty", lambda: False)() else 2
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise InvalidInputError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


class ProgressLine:
    """Prints ``done/total``, the rate, named values and the ETA of a loop.

    Args:
        total: units of the whole loop.
        unit: what is counted (``"step"`` shows ``steps/s``).
        verbose: ``"auto"``, 0 (silent), 1 (a line rewritten in place) or 2 (a line every
            ``every_s`` seconds and at the end).
        initial: units already done when the loop starts (a resumed run); the rate and the ETA
            count only what this process does.
        every_s: seconds between plain lines (``verbose=2``).
        stream: where to print (``sys.stdout`` by default).

    Example:
        >>> progress = ProgressLine(1000, verbose=0)
        >>> for done in range(100, 1001, 100):
        ...     progress.update(done, loss=0.5)
        >>> progress.close()
    """

    def __init__(
        self,
        total: int,
        *,
        unit: str = "step",
        verbose: int | str = "auto",
        initial: int = 0,
        every_s: float = 10.0,
        stream: TextIO | None = None,
    ):
        self.stream = stream or sys.stdout
        self.total = total
        self.unit = unit
        self.verbose = resolve_verbose(verbose, self.stream)
        self.initial = initial
        self.every_s = every_s
        self.done = initial
        self.values: dict[str, Any] = {}
        self._start = time.perf_counter()
        self._printed_at = self._start
        self._width = 0  # of the last terminal line, to blank what a shorter one leaves

    def update(self, done: int, **values: Any) -> None:
        """Records that ``done`` units are finished; ``values`` (e.g. ``loss=0.41``) are shown
        until replaced."""
        self.done = done
        self.values.update(values)
        now = time.perf_counter()
        interval = TTY_INTERVAL_S if self.verbose == 1 else self.every_s
        if self.verbose and now - self._printed_at >= interval:
            self._print(now)

    def close(self, **values: Any) -> None:
        """Prints the final line (a terminal line is ended with a newline)."""
        self.values.update(values)
        if self.verbose:
            self._print(time.perf_counter(), final=True)

    def line(self, now: float | None = None) -> str:
        """The current line (without a carriage return or newline)."""
        now = time.perf_counter() if now is None else now
        elapsed = now - self._start
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.done:,}/{self.total:,} {self.unit}s", f"{rate:,.0f} {self.unit}s/s"]
        parts += [f"{key} {_format(value)}" for key, value in self.values.items()]
        left = self.total - self.done
        if left <= 0:
            parts.append(f"{_duration(elapsed)} total")
        else:
            parts.append(f"ETA {_duration(left / rate) if rate > 0 else '?'}")
        return " - ".join(parts)

    def _print(self, now: float, final: bool = False) -> None:
        line = self.line(now)
        if self.verbose == 1:
            padding = " " * max(0, self._width - len(line))
            self.stream.write(f"\r{line}{padding}" + ("\n" if final else ""))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._printed_at = now


def _format(value: Any) -> str:
    if isinstance(value, (bool, str)) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    value = float(value)
    return "-" if math.isnan(value) else f"{value:.4g}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
