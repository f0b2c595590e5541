"""A minimal progress line on stderr, shown only once a job has run for a few seconds."""
from __future__ import annotations

import os
import sys
import threading
import time


class Progress:
    def __init__(self, total: float, label: str = "simulate", enabled: bool | None = True,
                 delay: float = 3.0, stream=None):
        self.total = max(float(total), 1.0)
        self.label = label
        # progress=None follows the environment: HDLIMITS_NO_PROGRESS=1 silences it
        self.enabled = enabled if enabled is not None else not os.environ.get("HDLIMITS_NO_PROGRESS")
        self.delay = delay
        self.stream = stream or sys.stderr
        self.done = 0.0
        self.start = time.perf_counter()
        self._last = 0.0
        self._lock = threading.Lock()
        self._shown = False

    def add(self, amount: float) -> None:
        with self._lock:
            self.done += amount
            now = time.perf_counter()
            el = now - self.start
            tty = getattr(self.stream, "isatty", lambda: False)()
            if not self.enabled or el < self.delay or now - self._last < (0.5 if tty else 15.0):
                return
            self._last = now
            frac = min(self.done / self.total, 1.0)
            eta = el * (1 - frac) / max(frac, 1e-9)
            bar = "#" * int(30 * frac)
            start, end = ("\r", "") if tty else ("", "\n")
            self.stream.write(f"{start}{self.label} [{bar:<30}] {100 * frac:5.1f}%  "
                              f"{el:6.1f}s elapsed, ~{eta:6.1f}s left{end}")
            self.stream.flush()
            self._shown = True

    def close(self) -> None:
        if self._shown:
            tty = getattr(self.stream, "isatty", lambda: False)()
            start = "\r" if tty else ""
            self.stream.write(f"{start}{self.label} done in {time.perf_counter() - self.start:.1f}s"
                              + " " * 40 + "\n")
            self.stream.flush()
