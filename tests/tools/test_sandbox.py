"""The sandbox against real misbehaving children: loops, crashes, hogs, spam, leaks."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from adrs.tools.sandbox import RESULT_FD_ENV, SandboxLimits, run_sandboxed

FAST = SandboxLimits(timeout_seconds=1.5, memory_mb=512)


def run_script(tmp_path: Path, source: str, limits: SandboxLimits = FAST, **kwargs):
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    return run_sandboxed([sys.executable, str(script)], cwd=tmp_path, limits=limits, **kwargs)


def is_gone(pid: int) -> bool:
    """Dead or a zombie waiting for a reaper (a zombie runs no code)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


SPAWN_SLEEPER = """
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "adrs-sleeper", __file__])
    open("sleeper.started", "w").close()
"""


def sleeper_gone(script: Path, within: float = 5.0) -> bool:
    """No live process runs the sleeper `script` started. Found by its command line: inside the
    jail a child's pid is one of its own PID namespace, meaningless out here."""
    marker = b"adrs-sleeper\0" + str(script).encode()
    deadline = time.monotonic() + within
    while True:
        alive = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes() \
                        and not is_gone(int(entry.name)):
                    alive.append(entry.name)
            except OSError:
                continue  # it ended while we looked
        if not alive or time.monotonic() > deadline:
            return not alive
        time.sleep(0.05)


def test_infinite_loop_is_killed_with_its_grandchild(tmp_path):
    outcome = run_script(tmp_path, SPAWN_SLEEPER + "    while True:\n        pass\n")
    assert outcome.status == "timeout"
    assert outcome.signal_name == "SIGKILL"
    assert outcome.returncode is None
    assert (tmp_path / "sleeper.started").exists() and sleeper_gone(tmp_path / "child.py")


def test_background_child_does_not_survive_a_normal_exit(tmp_path):
    outcome = run_script(tmp_path, SPAWN_SLEEPER + "    print('bye')\n")
    assert outcome.status == "exited"
    assert outcome.returncode == 0
    assert outcome.stdout_tail == "bye\n"
    assert (tmp_path / "sleeper.started").exists() and sleeper_gone(tmp_path / "child.py")


def test_exception_is_reported_as_exit_code_and_stderr(tmp_path):
    outcome = run_script(tmp_path, "raise ValueError('bad input 42')\n")
    assert outcome.status == "exited"
    assert outcome.returncode == 1
    assert outcome.stderr_tail.rstrip().endswith("ValueError: bad input 42")
    assert outcome.result is None


def test_segfault_is_reported_as_signal(tmp_path):
    outcome = run_script(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    assert outcome.status == "signalled"
    assert outcome.signal_name == "SIGSEGV"
    assert outcome.returncode is None
    assert not list(tmp_path.glob("core*"))  # RLIMIT_CORE = 0


def test_memory_hog_fails_cleanly(tmp_path):
    outcome = run_script(tmp_path, "hog = bytearray(4 << 30)\nprint('allocated')\n")
    assert outcome.status == "exited"
    assert outcome.returncode == 1
    assert "MemoryError" in outcome.stderr_tail
    assert "allocated" not in outcome.stdout_tail


def test_cpu_limit_sends_sigxcpu(tmp_path):
    limits = SandboxLimits(timeout_seconds=10, memory_mb=512, cpu_seconds=1)
    outcome = run_script(tmp_path, "while True:\n    pass\n", limits)
    assert outcome.status == "signalled"
    assert outcome.signal_name == "SIGXCPU"


def test_file_size_limit_stops_big_writes(tmp_path):
    # CPython ignores SIGXFSZ, so the limit shows up as an OSError (EFBIG) in the child.
    limits = SandboxLimits(timeout_seconds=5, memory_mb=512, max_file_mb=1)
    outcome = run_script(tmp_path, "open('big.bin', 'wb').write(b'x' * (2 << 20))\n", limits)
    assert outcome.status == "exited"
    assert outcome.returncode == 1
    assert "File too large" in outcome.stderr_tail
    assert (tmp_path / "big.bin").stat().st_size == 1 << 20


def test_output_spam_keeps_only_the_tail(tmp_path):
    limits = SandboxLimits(timeout_seconds=20, memory_mb=512, max_output_bytes=1000)
    outcome = run_script(tmp_path, """
        import sys
        block = "x" * (1 << 20)
        for _ in range(50):
            sys.stdout.write(block)
            sys.stderr.write(block)
        sys.stdout.write("END-OF-STDOUT\\n")
        sys.stderr.write("END-OF-STDERR\\n")
    """, limits)
    assert outcome.status == "exited"
    assert outcome.returncode == 0
    assert len(outcome.stdout_tail) == 1000
    assert len(outcome.stderr_tail) == 1000
    assert outcome.stdout_tail == "x" * 986 + "END-OF-STDOUT\n"
    assert outcome.stderr_tail.endswith("x" * 10 + "END-OF-STDERR\n")


def test_environment_is_clean(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    outcome = run_script(tmp_path, """
        import json, os
        os.write(int(os.environ["ADRS_RESULT_FD"]), json.dumps(dict(os.environ)).encode())
    """, env={"EXTRA": "1"})
    env = outcome.result
    assert env is not None
    assert "OPENAI_API_KEY" not in env
    assert set(env) == {"PATH", "LANG", "LC_ALL", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
                        "HOME", "TMPDIR", "USER", "LOGNAME", "EXTRA", RESULT_FD_ENV}
    assert env["HOME"] == env["TMPDIR"] == str(tmp_path.resolve())
    assert env["USER"] == env["LOGNAME"] == "adrs"  # getpass.getuser() works under any uid
    assert env["PYTHONHASHSEED"] == "0"
    assert env["LC_ALL"] == "C.UTF-8"
    assert env["EXTRA"] == "1"


def test_big_result_arrives_whole(tmp_path):
    # 5 MB is far beyond a pipe's buffer: the parent must drain while the child writes.
    outcome = run_script(tmp_path, """
        import json, os
        fd = int(os.environ["ADRS_RESULT_FD"])
        data = json.dumps({"blob": "y" * 5_000_000, "n": 7}).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    """)
    assert outcome.status == "exited"
    assert outcome.result is not None
    assert outcome.result["n"] == 7
    assert len(outcome.result["blob"]) == 5_000_000


def test_result_that_is_not_an_object_is_flagged(tmp_path):
    outcome = run_script(tmp_path, """
        import os
        os.write(int(os.environ["ADRS_RESULT_FD"]), b"[1, 2]")
    """)
    assert outcome.result is None
    assert outcome.result_error == "result is a JSON list, not an object"


def test_grandchild_does_not_inherit_the_result_channel(tmp_path):
    outcome = run_script(tmp_path, """
        import json, os, subprocess, sys
        fd = os.environ["ADRS_RESULT_FD"]
        probe = "import os, sys\\ntry:\\n    os.fstat(int(sys.argv[1]))\\n    print('open')\\n" \\
                "except OSError:\\n    print('closed')\\n"
        seen = subprocess.run([sys.executable, "-c", probe, fd], capture_output=True, text=True)
        os.write(int(fd), json.dumps({"grandchild": seen.stdout.strip()}).encode())
    """)
    assert outcome.result == {"grandchild": "closed"}


def test_missing_command_exits_127(tmp_path):
    outcome = run_sandboxed(["no-such-command-adrs"], cwd=tmp_path, limits=FAST)
    assert outcome.status == "exited"
    assert outcome.returncode == 127
    assert "cannot run 'no-such-command-adrs'" in outcome.stderr_tail


def test_caller_mistakes_raise(tmp_path):
    with pytest.raises(ValueError, match="non-empty argv"):
        run_sandboxed([], cwd=tmp_path, limits=FAST)
    with pytest.raises(ValueError, match="not a directory"):
        run_sandboxed(["true"], cwd=tmp_path / "missing", limits=FAST)
    with pytest.raises(ValueError, match="timeout_seconds must be > 0"):
        SandboxLimits(timeout_seconds=0, memory_mb=512)
    assert SandboxLimits(timeout_seconds=1.5, memory_mb=1).effective_cpu_seconds == 3


def test_cwd_is_the_given_folder(tmp_path):
    outcome = run_script(tmp_path, "import os\nprint(os.getcwd())\n")
    assert outcome.stdout_tail.strip() == str(tmp_path.resolve())
    assert outcome.duration_seconds > 0


def test_a_result_written_while_the_reader_was_descheduled_is_not_lost(monkeypatch):
    """Under load the reader's poll can come back empty, the child write and exit, and the caller
    say finish, all before the reader's thread runs again: it must look once more, not stop."""
    from adrs.tools import sandbox

    original_poll = sandbox.select.poll

    read_fd, write_fd = os.pipe()
    reader = sandbox._ChannelReader(read_fd, 1 << 20)

    class StalePoll:  # the first poll returns empty, after the race has happened meanwhile
        def __init__(self):
            self._poll, self._calls = original_poll(), 0

        def register(self, fd, events):
            self._poll.register(fd, events)

        def poll(self, timeout):
            self._calls += 1
            if self._calls == 1:
                os.write(write_fd, b'{"ok": true}')
                os.close(write_fd)  # the child is gone...
                reader._stop_asked.set()  # ...and the caller said finish
                return []
            return self._poll.poll(timeout)

    monkeypatch.setattr(sandbox.select, "poll", StalePoll)
    reader.start()
    reader.finish()
    os.close(read_fd)
    assert reader.data == b'{"ok": true}'
