"""Progress without a dependency: a bar redrawn in place on a terminal, plain lines otherwise (a
log file, a pipe, a test)."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, stream: TextIO | None = None, width: int = 24):
        self.total = max(total, 1)
        self.stream = stream or sys.stdout
        self.width = width
        self.tty = self.stream.isatty()
        self._drawn = 0

    def update(self, done: int, text: str) -> None:
        if not self.tty:
            self.stream.write(f"[{done}/{self.total}] {text}\n")
            self.stream.flush()
            return
        filled = round(self.width * done / self.total)
        line = f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} {text}"
        self.stream.write(line.ljust(self._drawn))
        self._drawn = len(line)
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = 0


class StatusLine:
    """A status that changes over time: redrawn in place on a terminal, one line per change otherwise."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self._last = ""
        self._drawn = 0

    def show(self, text: str, changed_part: str) -> None:
        if self.tty:
            line = f"\r{text}"
            self.stream.write(line.ljust(self._drawn))
            self._drawn = len(line)
        elif changed_part != self._last:
            self.stream.write(text + "\n")
        self._last = changed_part
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
