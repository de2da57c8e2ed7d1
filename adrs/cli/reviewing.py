"""The terminal side of `adrs run --review`: show each waiting plan and take the person's answer.

The viewer may answer the same plans (it leaves answers in the run's mailbox), so while the
terminal waits for a line it also looks in the mailbox; whichever answers first wins.
"""

from __future__ import annotations

import getpass
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import typer
from rich.markup import escape

from adrs.cli.common import console
from adrs.graph.review import Mailbox, PendingReview, ReviewAnswer
from adrs.graph.rundir import RunPaths

POLL_SECONDS = 0.5


def default_reviewer() -> str:
    """$ADRS_REVIEWER, else git's user.name, else the login name."""
    name = os.environ.get("ADRS_REVIEWER", "").strip()
    if not name:
        found = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True)
        name = found.stdout.strip() if found.returncode == 0 else ""
    return name or getpass.getuser()


class LineReader:
    """Lines of a stream, read by a daemon thread so the reader can wait with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.closed = False
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def get(self, timeout: float) -> str | None:
        """The next line, or None if none came in time (or the stream is closed)."""
        if self.closed:
            return None
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        self.closed = line is None
        return line


class ViewerAnswered(Exception):
    def __init__(self, answers: dict[str, ReviewAnswer]) -> None:
        super().__init__("answered in the viewer")
        self.answers = answers


class TerminalReviewer:
    """An Answerer (graph/review.py) for a run driven from this terminal."""

    def __init__(self, run_dir: Path, reviewer: str, lines: LineReader) -> None:
        self.run_dir = run_dir
        self.mailbox = Mailbox(RunPaths(Path(run_dir).resolve()))
        self.reviewer = reviewer
        self.lines = lines
        self._told_closed = False

    def __call__(self, pending: list[PendingReview]) -> dict[str, ReviewAnswer]:
        ids = [item.id for item in pending]
        try:
            self._check_mailbox(ids)
            item = pending[0]
            _show(item, len(pending))
            while True:
                choice = self._read("approve [a], rewrite the hypothesis [e], or start from "
                                    "another parent [r]? ", ids).strip().lower()
                if choice in ("a", "approve"):
                    return {item.id: ReviewAnswer(reviewer=self.reviewer)}
                if choice in ("e", "edit"):
                    text = self._read("new hypothesis (one line): ", ids)
                    if text.strip():
                        return {item.id: ReviewAnswer(reviewer=self.reviewer, hypothesis=text)}
                elif choice in ("r", "redirect"):
                    parent = self._read("parent (key, commit, best or baseline): ", ids)
                    if parent.strip():
                        return {item.id: ReviewAnswer(reviewer=self.reviewer, parent=parent)}
                else:
                    console.print("[yellow]answer a, e or r[/]")
        except ViewerAnswered as answered:
            keys = ", ".join(item.key for item in pending if item.id in answered.answers)
            console.print(f"  [dim]answered in the viewer: {keys}[/]")
            return answered.answers
        except KeyboardInterrupt:
            console.print(f"\npaused for review; continue with `adrs resume {self.run_dir}`")
            raise typer.Exit(130) from None

    def _read(self, prompt: str, ids: list[str]) -> str:
        console.print(escape(prompt), end="")
        while True:
            line = self.lines.get(POLL_SECONDS)
            if line is not None:
                return line
            if self.lines.closed and not self._told_closed:
                self._told_closed = True
                console.print(f"\n[dim]no terminal input: answer in the viewer "
                              f"(adrs serve {self.run_dir} --writable)[/]")
            self._check_mailbox(ids)

    def _check_mailbox(self, ids: list[str]) -> None:
        answers = self.mailbox.take(ids)
        if answers:
            raise ViewerAnswered(answers)


def _show(item: PendingReview, waiting: int) -> None:
    score = "" if item.parent_score is None else f", score {item.parent_score:.4f}"
    console.rule(f"review {item.key} ({waiting} plan(s) waiting) · parent {item.parent_key}{score}")
    console.print(f"[bold]{escape(item.summary)}[/]")
    for label, text in (("hypothesis", item.hypothesis), ("change", item.change),
                        ("expected", item.expected_effect)):
        console.print(f"  [dim]{label}:[/] {escape(text)}")
    if item.error:
        console.print(f"  [red]your last answer was refused: {escape(item.error)}[/]")


def terminal_reviewer(run_dir: Path) -> TerminalReviewer:
    return TerminalReviewer(run_dir, default_reviewer(), LineReader(sys.stdin))
