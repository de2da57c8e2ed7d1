"""Which files of a folder play which part: the layouts adrs accepts (docs/problem-contract.md).

- adrs's own: problem.toml (evolve_file, evaluator_file), README.md, evaluator.py, initial.py;
- OpenEvolve / ADRS case studies: initial_program.<ext>, evaluator.py, optional config.yaml and
  README.md;
- SkyDiscover's invocation `adrs run [PROGRAM] EVALUATOR [-c config.yaml]`: explicit files.

A Layout only names files (paths relative to the problem's root folder); problem.py reads them.
The run's copy of a problem records its layout in LAYOUT_FILE, so it loads the same way again.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

PROBLEM_TOML = "problem.toml"
LAYOUT_FILE = ".adrs-layout.toml"
PEER_EVALUATOR = "evaluator.py"
PEER_PROGRAM_STEM = "initial_program"
PEER_CONFIG = "config.yaml"
README = "README.md"


class LayoutError(ValueError):
    """A folder or a set of files adrs cannot read as a problem; the message is one line."""


@dataclass(frozen=True)
class Layout:
    """The files of one problem, relative to `root`."""

    root: Path
    kind: Literal["adrs", "openevolve", "skydiscover"]
    name: str
    evaluator_file: str
    evolve_file: str  # the program to evolve; with from_scratch, only its name (language)
    config_file: str | None = None
    readme: str | None = None
    from_scratch: bool = False  # no initial program: the baseline is an empty file

    @property
    def has_toml(self) -> bool:
        return (self.root / PROBLEM_TOML).is_file()

    def describe(self) -> str:
        kinds = {"adrs": "adrs problem folder", "openevolve": "OpenEvolve/ADRS-style folder",
                 "skydiscover": "SkyDiscover-style files"}
        files = [self.evolve_file if not self.from_scratch else "no initial program",
                 self.evaluator_file, *(name for name in (self.config_file, self.readme) if name)]
        return f"{kinds[self.kind]} ({', '.join(files)})"

    def to_toml(self) -> str:
        """The layout as LAYOUT_FILE text (root left out: the copy is its own root)."""
        values = {key: value for key, value in asdict(self).items()
                  if key != "root" and value not in (None, False)}
        return "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items())


def detect(root: Path) -> Layout:
    """The layout of a folder: a run's recorded one, adrs's own, or a peer's."""
    recorded = root / LAYOUT_FILE
    if recorded.is_file():
        return _recorded(root, recorded)
    programs = sorted(p.name for p in root.iterdir()
                      if p.is_file() and p.stem == PEER_PROGRAM_STEM)
    if (root / PROBLEM_TOML).is_file():
        # problem.toml's evolve_file decides; the default is initial.py, else the peers' name.
        evolve = "initial.py" if (root / "initial.py").is_file() or len(programs) != 1 \
            else programs[0]
        return Layout(root, "adrs", root.name, evaluator_file=PEER_EVALUATOR,
                      evolve_file=evolve, readme=README, config_file=_if_file(root, PEER_CONFIG))
    if not (root / PEER_EVALUATOR).is_file():
        raise LayoutError(f"no evaluator: {root.name} has neither {PROBLEM_TOML} nor "
                          f"{PEER_EVALUATOR} (see docs/problem-contract.md)")
    if not programs:
        raise LayoutError(f"{root.name} has {PEER_EVALUATOR} but no {PEER_PROGRAM_STEM}.<ext> "
                          "to evolve (or name it: adrs run PROGRAM EVALUATOR)")
    if len(programs) > 1:
        raise LayoutError(f"{root.name} has several initial programs ({', '.join(programs)}); "
                          "name one: adrs run PROGRAM EVALUATOR")
    return Layout(root, "openevolve", root.name, evaluator_file=PEER_EVALUATOR,
                  evolve_file=programs[0], config_file=_if_file(root, PEER_CONFIG),
                  readme=_if_file(root, README))


def from_files(program: Path | None, evaluator: Path, config: Path | None) -> Layout:
    """SkyDiscover's `[PROGRAM] EVALUATOR [-c config.yaml]`: the root is the folder holding the
    evaluator or the program, whichever holds the other (so files the evaluator reads beside it
    come along); without a program, an initial_program.<ext> beside the evaluator, else none."""
    for label, path in (("program", program), ("evaluator", evaluator), ("config", config)):
        if path is not None and not path.is_file():
            raise LayoutError(f"{label} file not found: {path}")
    if evaluator.suffix != ".py":  # it is imported; a stray file would copy its whole folder first
        raise LayoutError(f"the evaluator {evaluator} is not a Python file (.py)")
    evaluator = evaluator.resolve()
    if program is None:
        found = sorted(p for p in evaluator.parent.iterdir()
                       if p.is_file() and p.stem == PEER_PROGRAM_STEM and p != evaluator)
        program = found[0] if len(found) == 1 else None
    program = program.resolve() if program is not None else None
    roots = [evaluator.parent] + ([program.parent] if program is not None else [])
    root = next((folder for folder in roots
                 if all(_is_under(path.parent, folder) for path in (evaluator, program) if path)),
                None)
    if root is None:
        raise LayoutError(f"{program} and {evaluator} must sit in one folder, or one in a "
                          "sub-folder of the other's")
    _check_not_a_catch_all(root)
    config_name = None
    if config is not None:
        config = config.resolve()
        if not _is_under(config.parent, root):
            raise LayoutError(f"the config {config} must sit in {root} or below it")
        config_name = config.relative_to(root).as_posix()
    return Layout(root, "skydiscover", root.name,
                  evaluator_file=evaluator.relative_to(root).as_posix(),
                  evolve_file=(program.relative_to(root).as_posix() if program
                               else f"{PEER_PROGRAM_STEM}.py"),
                  config_file=config_name, readme=_if_file(root, README),
                  from_scratch=program is None)


# The folder holding a loose evaluator file is the problem, copied whole into every run; past
# this many files it is a catch-all folder (a home folder, Downloads), not a problem's own.
MAX_LOOSE_FOLDER_FILES = 5000


def _check_not_a_catch_all(root: Path) -> None:
    """A LayoutError when the evaluator's folder is the home folder or holds too many files."""
    why = "is your home folder" if root == Path.home().resolve() else ""
    if not why:
        count = 0
        for _folder, dirs, files in os.walk(root):
            dirs[:] = [name for name in dirs if name not in (".git", "__pycache__")]
            count += len(files)
            if count > MAX_LOOSE_FOLDER_FILES:
                why = f"holds more than {MAX_LOOSE_FOLDER_FILES} files"
                break
    if why:
        raise LayoutError(f"{root} {why}, and a run copies the evaluator's folder whole: put the "
                          "evaluator, the program and what they read in a folder of their own")


def _recorded(root: Path, path: Path) -> Layout:
    try:
        values: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return Layout(root=root, **values)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError) as exc:
        raise LayoutError(f"{root.name}/{LAYOUT_FILE} is damaged: {exc}") from exc


def _if_file(root: Path, name: str) -> str | None:
    return name if (root / name).is_file() else None


def _is_under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

