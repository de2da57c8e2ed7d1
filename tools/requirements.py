"""What an evaluator needs besides adrs's own packages, and the Python that has it.

A problem declares pip requirements in problem.toml (`[environment] requirements = [...]`) or, as
the peers do, in a requirements.txt beside its evaluator. Each distinct set gets one virtual
environment, made once and cached by the hash of the requirements (and of the Python running
adrs) under $ADRS_CACHE_DIR/envs (default ~/.cache/adrs/envs). It has no pip of its own: the
running pip fills it (`pip --python`), and a .pth line lets it see adrs's own site-packages, so a
requirement adrs already satisfies costs nothing. The evaluation tool runs the evaluator with that
environment's interpreter, shown read-only in the jail.

Standard library only: the sandboxed worker loads this file by path for `missing_modules`.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import shutil
import site
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS_TXT = "requirements.txt"
CACHE_ENV = "ADRS_CACHE_DIR"
DONE_FILE = "adrs-complete"
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")


class RequirementsError(ValueError):
    """Requirements that cannot be installed, or a variable that must not be passed; one line."""


@dataclass(frozen=True)
class Requirements:
    """The pip requirements of one problem: listed ones and requirements files."""

    lines: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.lines or self.files)

    def describe(self) -> str:
        names = list(self.lines) + [path.name for path in self.files]
        return ", ".join(names)

    def digest(self) -> str:
        """The cache key: the requirements' text and the Python that runs adrs."""
        hasher = hashlib.sha256(f"{sys.version}\0{sys.prefix}\0".encode())
        for line in sorted(self.lines):
            hasher.update(line.encode() + b"\n")
        for path in self.files:
            hasher.update(b"\0file\0" + path.read_bytes())
        return hasher.hexdigest()[:16]


def declared(evaluator: Path, listed: tuple[str, ...]) -> Requirements:
    """The problem's requirements: listed in problem.toml and a requirements.txt beside evaluator."""
    beside = evaluator.parent / REQUIREMENTS_TXT
    lines = tuple(line.strip() for line in listed if line.strip())
    return Requirements(lines=lines, files=(beside,) if beside.is_file() else ())


def variables(values: dict[str, str], pass_through: tuple[str, ...],
              environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """The variables the evaluator is given: declared values, then the named ones that are set."""
    secret = [name for name in (*values, *pass_through)
              if any(word in name.upper() for word in _SECRET_WORDS)]
    if secret:
        raise RequirementsError(f"[environment] names {secret[0]}, which looks like a secret; "
                                "adrs never passes secrets into the sandbox")
    passed = {name: environ[name] for name in pass_through if name in environ}
    return {**values, **passed}


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "adrs"


def interpreter_for(requirements: Requirements, problem_name: str,
                    cache: Path | None = None) -> Path | None:
    """The Python of the problem's environment, made on first use; None when nothing is needed."""
    if not requirements:
        return None
    envs = (cache or cache_root()) / "envs"
    final = envs / requirements.digest()
    if not (final / DONE_FILE).is_file():
        envs.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=envs))
        os.chmod(building, 0o755)  # the jail's `nobody` user must read it
        try:
            _build(building, requirements, problem_name)
            (building / DONE_FILE).write_text(requirements.describe() + "\n", encoding="utf-8")
            try:
                os.rename(building, final)
            except OSError:  # another process finished the same environment first
                if not (final / DONE_FILE).is_file():
                    raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return final / "bin" / "python"


def _build(folder: Path, requirements: Requirements, problem_name: str) -> None:
    _run([sys.executable, "-m", "venv", "--without-pip", str(folder)], problem_name, requirements)
    site_packages = next((folder / "lib").glob("python*/site-packages"))
    own = [path for path in site.getsitepackages() if Path(path).is_dir()]
    # addsitedir (not a bare path line) so adrs's own .pth files are read too.
    (site_packages / "adrs-base.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in own), encoding="utf-8")
    command = [sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python"), "install",
               "--quiet", "--disable-pip-version-check", *requirements.lines]
    for path in requirements.files:
        command += ["-r", str(path)]
    _run(command, problem_name, requirements)


def _run(command: list[str], problem_name: str, requirements: Requirements) -> None:
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        reason = next((line for line in reversed(lines) if line.startswith("ERROR")),
                      lines[-1] if lines else f"exit code {done.returncode}")
        raise RequirementsError(f"cannot install the requirements of {problem_name} "
                                f"({requirements.describe()}): {reason}")


def missing_modules(evaluator_path: str) -> list[str]:
    """Top-level modules evaluator.py imports unconditionally that this Python cannot find."""
    try:
        with open(evaluator_path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return []
    folder = os.path.dirname(os.path.abspath(evaluator_path))
    missing: list[str] = []
    for name in _module_level_imports(tree.body):
        local = os.path.exists(os.path.join(folder, name + ".py")) or \
            os.path.isdir(os.path.join(folder, name))
        if local or name in missing:
            continue
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def _module_level_imports(body: list[ast.stmt]) -> list[str]:
    """Names of `import x` / `from x import y` run at import time, outside try blocks."""
    names: list[str] = []
    for node in body:
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
        elif isinstance(node, ast.If):
            names += _module_level_imports(node.body) + _module_level_imports(node.orelse)
    return names
