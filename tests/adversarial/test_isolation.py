"""tools/isolation.py and tools/jail.py: the choice of mechanism, the argv, and what a jailed
command can and cannot do under every mechanism this machine offers."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from adrs.tools import bwrap, isolation
from adrs.tools.isolation import CANDIDATE_PREFIX_ENV, Isolation, IsolationError, IsolationWarning
from adrs.tools.jail import candidate_prefix
from adrs.tools.sandbox import SandboxLimits, run_sandboxed

FAST = SandboxLimits(timeout_seconds=10, memory_mb=512)
FAKE = Isolation("bwrap", "test", bwrap="/usr/bin/bwrap", user=None, nested=True)
JAILED = isolation.current().jailed
# Each mechanism that works here, probed as `ADRS_SANDBOX=<kind>` would.
WORKING = [found for found in map(isolation.detect, ("bwrap", "namespaces", "landlock"))
           if found.jailed]
NOT_WORKING = sorted({"bwrap", "namespaces", "landlock"} - {found.kind for found in WORKING})


def jail_argv(isolation: Isolation, *, scratch: Path, read_only: list[Path]) -> list[str]:
    return bwrap.jail_argv(isolation.bwrap, scratch=scratch, read_only=read_only,
                           as_root=isolation.user is not None)


def pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    """The (source, destination) of every `flag SRC DEST` in argv."""
    return [(argv[i + 1], argv[i + 2]) for i, arg in enumerate(argv) if arg == flag]


def test_the_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADRS_SANDBOX", "rlimits")  # the old name of "none"
    assert isolation.requested_mode() == "none"
    assert isolation.detect("none") == Isolation("none", "forced by ADRS_SANDBOX=none",
                                                 remedy="unset ADRS_SANDBOX")
    monkeypatch.setenv("ADRS_SANDBOX", "jail-me")
    with pytest.raises(IsolationError, match="ADRS_SANDBOX='jail-me' is not one of auto, bwrap, "
                                             "namespaces, landlock, none"):
        isolation.requested_mode()


@pytest.mark.skipif(not any(f.kind == "namespaces" for f in WORKING),
                    reason="user namespaces do not work here")
def test_without_bwrap_the_namespace_jail_takes_over(monkeypatch):
    monkeypatch.setenv("ADRS_SANDBOX", "auto")
    monkeypatch.setattr(isolation, "_DECIDED", {})
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)  # a PATH without bwrap
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: this is isolation, not limits alone
        chosen = isolation.current()
    assert chosen.kind == "namespaces" and chosen.nested
    assert chosen.reason == "namespace jail built by adrs (bubblewrap (bwrap) is not installed)"


def test_when_nothing_works_it_warns_once_and_names_the_fix(monkeypatch):
    monkeypatch.setenv("ADRS_SANDBOX", "auto")
    monkeypatch.setattr(isolation, "_DECIDED", {})
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)
    # The two fallbacks as a kernel without them answers (the real probes run in the tests above).
    monkeypatch.setattr(isolation, "_try_namespaces",
                        lambda: "user namespaces do not work here (unshare: Operation not permitted)")
    monkeypatch.setattr(isolation, "_try_landlock", lambda: "Landlock is not enabled in this kernel")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = isolation.current()
        second = isolation.current()
    assert first is second and first.kind == "none" and not first.jailed
    assert first.reason == ("no isolation works here: bubblewrap (bwrap) is not installed; user "
                            "namespaces do not work here (unshare: Operation not permitted); "
                            "Landlock is not enabled in this kernel")
    assert first.remedy == isolation.remedy({"bwrap": "bubblewrap (bwrap) is not installed"})
    assert "bubblewrap" in first.remedy or "sysctl" in first.remedy
    assert [str(w.message) for w in caught if w.category is IsolationWarning] == [
        f"sandbox: {first.reason}; candidates run with resource limits and a process group only"]


def test_the_remedy_for_a_missing_bubblewrap_names_the_package_manager(monkeypatch):
    monkeypatch.setattr(isolation.Path, "read_text", lambda self: "")  # no sysctl blocks userns
    monkeypatch.setattr(isolation.shutil, "which", lambda name: f"/usr/bin/{name}"
                        if name == "apt-get" else None)
    assert isolation.remedy({"bwrap": "bubblewrap (bwrap) is not installed"}) == \
        "apt-get install bubblewrap"


def test_requiring_bwrap_where_it_is_missing_fails(monkeypatch):
    monkeypatch.setenv("ADRS_SANDBOX", "bwrap")
    monkeypatch.setattr(isolation, "_DECIDED", {})
    monkeypatch.setattr(isolation.shutil, "which", lambda name: None)
    with pytest.raises(IsolationError, match="ADRS_SANDBOX=bwrap but .*bubblewrap .* not installed"):
        isolation.current()


def test_the_jail_argv(tmp_path):
    scratch = tmp_path / "deep" / "scratch"
    scratch.mkdir(parents=True)
    data = tmp_path / "data"
    data.mkdir()
    argv = jail_argv(FAKE, scratch=scratch, read_only=[data, data / "inner"])
    assert argv[0] == "/usr/bin/bwrap" and argv[-1] == "--"
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL" and "--cap-add" not in argv
    assert pairs(argv, "--bind") == [(str(scratch), str(scratch))]  # the only writable place
    read_only = dict(pairs(argv, "--ro-bind"))
    assert read_only[str(data)] == str(data) and str(data / "inner") not in read_only
    assert "/" not in read_only and "/usr" in read_only
    for prefix in bwrap.python_paths():
        assert prefix in read_only or any(prefix.startswith(p + "/") for p in read_only)
    # Folders above the mounts are made 0755 by hand, outermost first, after the /tmp tmpfs.
    made = [argv[i + 3] for i, arg in enumerate(argv)
            if arg == "--perms" and argv[i + 2] == "--dir"]
    assert made.index(str(tmp_path)) < made.index(str(tmp_path / "deep"))
    assert argv.index("--tmpfs") < argv.index("--dir")
    assert argv[argv.index("--chdir") + 1] == str(scratch)
    assert pairs(argv, "--remount-ro")[0][0] == "/" and "/tmp" in argv[argv.index("--bind"):]


def test_as_root_the_jail_keeps_only_what_dropping_to_nobody_needs(tmp_path):
    root = Isolation("bwrap", "test", bwrap="/usr/bin/bwrap", user=(65534, 65534), nested=True)
    argv = jail_argv(root, scratch=tmp_path, read_only=[])
    added = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--cap-add"]
    assert sorted(added) == ["CAP_DAC_OVERRIDE", "CAP_SETGID", "CAP_SETUID"]


def test_the_candidate_prefix_hides_folders_read_only(tmp_path):
    hidden = tmp_path / "problem"
    prefix = candidate_prefix(FAKE, scratch=tmp_path, hidden=[hidden])
    at = prefix.index(str(hidden))
    assert prefix[at - 1] == "--tmpfs" and prefix[at + 1:at + 3] == ["--remount-ro", str(hidden)]
    assert "--unshare-pid" in prefix and "--die-with-parent" in prefix and prefix[-1] == "--"


def test_no_isolation_offers_no_nested_jail(tmp_path):
    with pytest.raises(ValueError, match="needs a jail"):
        candidate_prefix(Isolation("none", "x"), scratch=tmp_path, hidden=[])


# ------------------------------------------------------------------------- the real jail

INSPECT = """
import json, os, socket, sys
report = {"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(),
          "prefix": os.environ.get("ADRS_CANDIDATE_PREFIX")}
def attempt(name, action):
    try:
        action()
        report[name] = "allowed"
    except OSError as exc:
        report[name] = type(exc).__name__
attempt("write_scratch", lambda: open("mine.txt", "w").write("x"))
attempt("write_usr", lambda: open("/usr/adrs-probe", "w"))
attempt("write_beside_scratch", lambda: open(sys.argv[1] + "/beside.txt", "w"))
attempt("read_data", lambda: open(sys.argv[2]).read())
attempt("read_sibling", lambda: open(sys.argv[3]).read())
attempt("read_shadow", lambda: open("/etc/shadow").read())
attempt("network", lambda: socket.create_connection(("127.0.0.1", 9), timeout=1))
attempt("write_tmp", lambda: open("/tmp/adrs-inspect", "w"))
os.write(int(os.environ["ADRS_RESULT_FD"]), json.dumps(report).encode())
"""


@pytest.mark.parametrize("jail", WORKING, ids=[found.kind for found in WORKING])
def test_what_a_jailed_command_can_and_cannot_do(jail, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    data = tmp_path / "data.txt"
    data.write_text("shared")
    sibling = tmp_path / "sibling.txt"
    sibling.write_text("private")
    script = scratch / "inspect.py"
    script.write_text(textwrap.dedent(INSPECT))
    outcome = run_sandboxed([sys.executable, str(script), str(tmp_path), str(data), str(sibling)],
                            cwd=scratch, limits=FAST, read_only=[data], private=[data],
                            isolation=jail)
    report = outcome.result
    assert outcome.isolation == jail.kind and report is not None, outcome.stderr_tail
    assert report["write_scratch"] == "allowed" and (scratch / "mine.txt").read_text() == "x"
    assert report["write_usr"] != "allowed"
    # Beside the scratch folder is the jail's private /tmp here: whatever it did, not on the host.
    assert not (tmp_path / "beside.txt").exists()
    assert report["read_data"] == "allowed"
    # Not there at all in a namespace jail; there but unreadable under Landlock rules.
    hidden = "PermissionError" if jail.kind == "landlock" else "FileNotFoundError"
    assert report["read_sibling"] == hidden and report["read_shadow"] in (hidden, "PermissionError")
    assert report["network"] != "allowed" and report["write_tmp"] != "allowed"
    if jail.own_pids:
        assert report["pid"] < 10  # its own PID namespace
    assert report["cwd"] == str(scratch.resolve())
    if os.geteuid() == 0:
        assert report["uid"] == isolation.drop_target()[0]
    prefix = json.loads(report["prefix"])
    if jail.kind == "landlock":  # the nested rules leave the private path out
        rules = json.loads(prefix[4])["landlock"]
        assert str(scratch.resolve()) in rules["write"] and str(data.resolve()) not in rules["read"]
    else:  # the nested jail covers it
        assert any(str(data.resolve()) in part for part in prefix)


@pytest.mark.parametrize("jail", WORKING, ids=[found.kind for found in WORKING])
def test_a_signal_death_inside_the_jail_is_reported_as_a_signal(jail, tmp_path):
    script = tmp_path / "die.py"
    script.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGABRT)\n")
    if jail.user is not None:
        os.chown(tmp_path, *jail.user)
    outcome = run_sandboxed([sys.executable, str(script)], cwd=tmp_path, limits=FAST,
                            isolation=jail)
    assert outcome.status == "signalled" and outcome.signal_name == "SIGABRT"


def test_the_mechanisms_that_do_not_work_here_say_why():
    for kind in NOT_WORKING:
        found = isolation.detect(kind)
        assert found.kind == "none" and found.reason.startswith("no isolation works here: ")
        assert "\n" not in found.reason and found.remedy


def test_without_private_paths_no_prefix_is_offered(tmp_path):
    script = tmp_path / "env.py"
    script.write_text("import json, os\n"
                      "os.write(int(os.environ['ADRS_RESULT_FD']), json.dumps(dict(os.environ))"
                      ".encode())\n")
    outcome = run_sandboxed([sys.executable, str(script)], cwd=tmp_path, limits=FAST)
    assert outcome.result is not None and CANDIDATE_PREFIX_ENV not in outcome.result
    assert "PWD" not in outcome.result


# ------------------------------------------------------------------------- every shipped problem

SHIPPED = sorted(p.parent.name for p in (Path(__file__).resolve().parents[2] / "problems")
                 .glob("*/problem.toml"))
PEEK = """\
import os as _adrs_os


def _adrs_peek():
    for _path in ({path!r}, {toml!r}):
        try:
            open(_path).read()
            return True
        except OSError:
            pass
    for _top, _dirs, _files in _adrs_os.walk("/tmp"):
        if "problem.toml" in _files:
            try:
                open(_adrs_os.path.join(_top, "problem.toml")).read()
                return True
            except OSError:
                pass
    return False


if _adrs_peek():
    raise RuntimeError("Escaped: the candidate can read its problem folder")
"""


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_baseline_evaluates_and_cannot_see_its_problem(name, tmp_path):
    """In the jail each problem's candidate must not see the folder (while its evaluator and any
    trusted reference it runs still work); without the jail the baseline must still score."""
    from adrs.tools.evaluation import EvaluationTool
    from adrs.tools.problem import Problem

    problem = Problem.load(Path(__file__).resolve().parents[2] / "problems" / name)
    source = problem.initial_source
    if JAILED:
        source += "\n" + PEEK.format(path=str(problem.evaluator_path),
                                     toml=str(problem.root / "problem.toml"))  # runs at import
    with EvaluationTool(problem, scratch_root=tmp_path) as tool:  # the problem copy is in /tmp
        result = tool.evaluate(source)
    assert result.ok, result.error
    assert result.combined_score > 0
