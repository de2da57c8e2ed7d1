"""What this machine gives adrs, one check at a time (`adrs doctor` shows them).

Each check returns a `Check`: passed (True), failed (False) or not applicable (None), and one line
saying what was found. None of them leaves anything behind on the machine.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from adrs.tools.cgroup import delegated
from adrs.tools.isolation import IsolationError, current
from adrs.tools.sandbox import SandboxLimits, run_sandboxed

TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None
    detail: str


# Runs in the sandbox: what it can and cannot do, as a JSON report on the result channel.
# argv: a folder beside its scratch folder, a loopback port that listens.
_PROBE = textwrap.dedent("""
    import json, os, socket, sys
    seen = {"pid": os.getpid()}
    def attempt(name, action):
        try:
            action()
            seen[name] = True
        except OSError:
            seen[name] = False
    attempt("scratch", lambda: open("probe.txt", "w").close())
    attempt("outside", lambda: open(os.path.join(sys.argv[1], "probe.txt"), "w").close())
    attempt("network", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[2])),
                                                        timeout=1).close())
    os.write(int(os.environ["ADRS_RESULT_FD"]), json.dumps(seen).encode())
""")


def isolation_check() -> Check:
    """Which mechanism is in force, and a probe run under it that shows what it holds."""
    try:
        isolation = current()
    except IsolationError as exc:
        return Check("isolation", False, str(exc))
    with tempfile.TemporaryDirectory(prefix="adrs-doctor-") as folder, \
            socket.create_server(("127.0.0.1", 0)) as server:
        scratch, outside = Path(folder, "scratch"), Path(folder, "outside")
        for path in (scratch, outside):
            path.mkdir()
            os.chmod(path, 0o777)  # writable by anyone: only the isolation may stop the probe
        outcome = run_sandboxed([sys.executable, "-I", "-c", _PROBE, str(outside),
                                 str(server.getsockname()[1])], cwd=scratch,
                                limits=SandboxLimits(timeout_seconds=TIMEOUT, memory_mb=512))
    seen = outcome.result or {}
    if not seen:
        return Check("isolation", False, f"{isolation.kind}: the probe did not run "
                     f"({outcome.stderr_tail.strip()[-200:] or outcome.status})")
    found = (f"probe: writes its scratch {_yes(seen['scratch'])}, beside it "
             f"{_yes(seen['outside'])}, reaches loopback {_yes(seen['network'])}, "
             f"has PID {seen['pid']}")
    if not isolation.jailed:
        return Check("isolation", False, f"none: {isolation.reason}; fix: {isolation.remedy} "
                     f"({found})")
    held = seen["scratch"] and not seen["outside"] and not seen["network"]
    return Check("isolation", held, f"{isolation.kind}: {isolation.reason} ({found})")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def cgroup_check() -> Check:
    """Whether a cgroup v2 subtree can hold the workers, and what it gives (made, then removed)."""
    tree = delegated("doctor")
    if isinstance(tree, str):
        return Check("cgroup", None, f"none: {tree}")
    tree.close()
    return Check("cgroup", True if tree.controllers else None, tree.note)


def version_check(name: str, argv: list[str]) -> Check:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, False, f"not usable: {exc}")
    text = (done.stdout or done.stderr).strip().splitlines()
    return Check(name, done.returncode == 0, text[0] if text else f"exit code {done.returncode}")


def python_check() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, f"{sys.version.split()[0]} at {sys.executable}"
                 + ("" if ok else " (adrs needs 3.11+)"))


def imported_modules(folder: Path) -> list[str]:
    """Top-level modules the problem's Python files import, minus the standard library and the
    folder's own modules."""
    own = {path.stem for path in folder.glob("*.py")} | {p.name for p in folder.iterdir() if p.is_dir()}
    found: set[str] = set()
    for path in folder.glob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return sorted(found - own - set(sys.stdlib_module_names) - {"__future__"})


_IMPORTS = "import importlib, json, sys\nbad = {}\nfor name in sys.argv[1:]:\n    try:\n" \
           "        importlib.import_module(name)\n    except Exception as exc:\n" \
           "        bad[name] = f'{type(exc).__name__}: {exc}'\nprint(json.dumps(bad))\n"


def packages_check(name: str, folder: Path) -> Check:
    """Whether every package the problem imports imports here (in a separate interpreter)."""
    modules = imported_modules(folder)
    if not modules:
        return Check(f"problem {name}", True, "needs the standard library only")
    try:
        done = subprocess.run([sys.executable, "-c", _IMPORTS, *modules], capture_output=True,
                              text=True, timeout=60, cwd=tempfile.gettempdir())
        bad = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return Check(f"problem {name}", False, f"could not check its imports: {exc}")
    if bad:
        first = next(iter(bad))
        return Check(f"problem {name}", False, f"{', '.join(bad)} do(es) not import "
                     f"({bad[first][:120]}); fix: pip install {' '.join(bad)}")
    return Check(f"problem {name}", True, f"imports {', '.join(modules)}")


def endpoint_check(base_url: str | None, api_key: str | None) -> Check:
    """Whether the model endpoint answers GET /models (no model is asked anything)."""
    if base_url is None:
        return Check("model endpoint", None, "none configured (--base-url, OPENAI_BASE_URL, "
                     "or [model] base_url in --config)")
    url = base_url.rstrip("/") + "/models"
    try:  # a URL that is not http(s) is refused by Request itself (ValueError)
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"}
                                         if api_key else {})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return Check("model endpoint", False, f"{url} answered HTTP {exc.code} ({exc.reason})")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check("model endpoint", False, f"{url} does not answer ({reason})")
    names = [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)]
    listed = f": {', '.join(names[:5])}" + (" ..." if len(names) > 5 else "") if names else ""
    return Check("model endpoint", True, f"{base_url} answers ({len(names)} models{listed})")
