"""The adversarial corpus: hostile or broken candidates for problems/txn_scheduling.

Each entry is a whole candidate program and what must come of it. Paths and markers the attack
aims at are filled in with string.Template ($name) by the test. A candidate whose hostile act
succeeds raises `Escaped`, so an escape shows up as a failure naming it; when the act is blocked it
returns the trivial order (0, 1, 2, ...), whose score the test knows.

Expectations:
- Fail(text): the evaluation fails and its error contains `text` (a clear reason).
- BLOCKED: the evaluation succeeds with exactly the trivial order's score (nothing inflated).
- CONTAINED: either of the two (the outcome depends on the containment), never more.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fail:
    text: str


BLOCKED = "blocked"
CONTAINED = "contained"


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    expect: Fail | str
    needs_jail: bool = False   # only meaningful when the bubblewrap jail is in force


TRIVIAL = '''
class Escaped(Exception):
    """Raised when a hostile act was not blocked."""


def trivial(transactions):
    return list(range(len(transactions)))
'''


def _program(body: str, schedule: str = "return trivial(transactions)") -> str:
    return (TRIVIAL + "\n" + body.strip("\n") + "\n\n\ndef schedule(transactions, model):\n    "
            + schedule + "\n")


def _at_import(body: str) -> str:
    return _program(body)


def _in_schedule(body: str) -> str:
    """A schedule() that runs `body` (indented 4) and then returns the trivial order."""
    indented = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return TRIVIAL + "\n\ndef schedule(transactions, model):\n" + indented + \
        "\n    return trivial(transactions)\n"


CASES: list[Case] = [
    # ---------------------------------------------------------------- runaway time
    Case("infinite_loop", _in_schedule("while True:\n    pass"), Fail("timed out")),
    Case("infinite_loop_at_import", _at_import("while True:\n    pass"), Fail("timed out")),
    Case("loop_ignoring_sigterm", _in_schedule(
        "import signal\nfor sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
        "    signal.signal(sig, signal.SIG_IGN)\nwhile True:\n    pass"), Fail("timed out")),
    Case("sleep_forever", _in_schedule("import time\ntime.sleep(3600)"), Fail("timed out")),
    # ---------------------------------------------------------------- processes
    Case("fork_bomb", _in_schedule(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
        Fail("timed out"), needs_jail=True),
    Case("setsid_child_survives", _in_schedule(
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '$token'],\n"
        "                 start_new_session=True, stdin=subprocess.DEVNULL,\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)"),
        BLOCKED, needs_jail=True),
    Case("double_fork_daemon", _in_schedule(
        "import os, sys\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        devnull = os.open(os.devnull, os.O_RDWR)\n"
        "        for fd in (0, 1, 2):\n"
        "            os.dup2(devnull, fd)\n"
        "        os.execv(sys.executable, [sys.executable, '-c',\n"
        "                 'import time; time.sleep(60)', '$token'])\n"
        "    os._exit(0)\n"
        "os.wait()"), BLOCKED, needs_jail=True),
    Case("orphan_holding_the_pipes", _in_schedule(
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '$token'])"),
        CONTAINED),
    Case("thread_flood", _in_schedule(
        "import threading, time\n"
        "for _ in range(100000):\n"
        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()"),
        Fail("thread")),
    Case("kill_the_parent", _in_schedule(
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), CONTAINED),
    Case("kill_own_process_group", _in_schedule("import os, signal\nos.killpg(0, signal.SIGKILL)"),
         CONTAINED),
    # ---------------------------------------------------------------- memory, stack, crashes
    Case("allocate_20_gb", _in_schedule("blob = bytearray(20 << 30)"), Fail("MemoryError")),
    # Mappings the pages of which are never touched: refused by the address-space limit at once.
    Case("map_memory_until_refused", _in_schedule(
        "import mmap\nhoard = []\nwhile True:\n    hoard.append(mmap.mmap(-1, 256 << 20))"),
        Fail("Cannot allocate memory")),
    Case("deep_recursion", _in_schedule("def down(n):\n    return down(n + 1)\ndown(0)"),
         Fail("RecursionError")),
    # Through map(), so every level also recurses in C: the C stack overflows (SIGSEGV).
    Case("c_stack_overflow", _in_schedule(
        "import sys\nsys.setrecursionlimit(10 ** 8)\n"
        "def down(n):\n    return list(map(down, [n + 1]))\ndown(0)"), Fail("crashed")),
    Case("segfault_via_ctypes", _in_schedule("import ctypes\nctypes.string_at(0)"),
         Fail("crashed")),
    Case("abort", _in_schedule("import os\nos.abort()"), Fail("crashed")),
    Case("sys_exit_at_import", _at_import("import sys\nsys.exit(0)"), Fail("SystemExit")),
    Case("os_exit_at_import", _at_import("import os\nos._exit(0)"), Fail("crashed (exit code")),
    Case("keyboard_interrupt_at_import", _at_import("raise KeyboardInterrupt"),
         Fail("KeyboardInterrupt")),
    Case("exception_in_schedule", _in_schedule("raise ValueError('no plan today')"),
         Fail("ValueError: no plan today")),
    Case("syntax_error", "def schedule(transactions, model):\n    return [\n", Fail("SyntaxError")),
    Case("file_size_limit", _in_schedule(
        "with open('big.bin', 'wb') as f:\n    f.write(b'x' * (200 << 20))"),
        Fail("File too large")),
    Case("fills_tmp", _in_schedule(
        "block = b'z' * (32 << 20)\n"
        "for n in range(100):\n"
        "    with open(f'/tmp/fill-{n}', 'wb') as f:\n"
        "        f.write(block)"), Fail("Read-only file system"), needs_jail=True),
    Case("fills_dev_shm", _in_schedule(
        "block = b'z' * (32 << 20)\n"
        "written = 0\n"
        "try:\n"
        "    for n in range(100):\n"
        "        with open(f'/dev/shm/fill-{n}', 'wb') as f:\n"
        "            f.write(block)\n"
        "        written += len(block)\n"
        "except OSError:\n"
        "    pass\n"
        "if written > (64 << 20):\n"
        "    raise Escaped('filled /dev/shm past its bound')"), BLOCKED, needs_jail=True),
    Case("file_descriptor_flood", _in_schedule(
        "import os\nkept = [open(os.devnull) for _ in range(100000)]"),
        Fail("Too many open files")),
    # ---------------------------------------------------------------- output
    Case("stdout_spam_100_mb", _in_schedule(
        "import sys\nblock = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(block)"),
        BLOCKED),
    Case("stderr_spam_then_crash", _in_schedule(
        "import sys\nblock = 'y' * (1 << 20)\nfor _ in range(100):\n    sys.stderr.write(block)\n"
        "raise RuntimeError('after the spam')"), Fail("after the spam")),
    # ---------------------------------------------------------------- wrong answers
    Case("nan_entries", _program("", "return [float('nan')] * len(transactions)"),
         Fail("expected an int")),
    Case("infinite_entries", _program("", "return [float('inf')] * len(transactions)"),
         Fail("expected an int")),
    Case("string_entries", _program("", "return [str(i) for i in range(len(transactions))]"),
         Fail("a str")),
    Case("bool_entries", _program("", "return [True] * len(transactions)"), Fail("a bool")),
    Case("returns_none", _program("", "return None"), Fail("returned None")),
    Case("returns_generator", _program("", "return (i for i in range(len(transactions)))"),
         Fail("generator")),
    Case("returns_numpy_array", _program(
        "import numpy", "return numpy.arange(len(transactions))"), Fail("numpy")),
    Case("duplicate_index", _program("", "return [0] * len(transactions)"),
         Fail("appears twice")),
    Case("index_out_of_range", _program("", "return list(range(1, len(transactions) + 1))"),
         Fail("outside range")),
    Case("order_too_short", _program("", "return list(range(len(transactions) - 1))"),
         Fail("expected 100")),
    Case("a_million_entries", _program("", "return list(range(10 ** 6))"),
         Fail("outside range")),
    Case("no_schedule_function", TRIVIAL, Fail("schedule")),
    # ---------------------------------------------------------------- claims and tampering
    Case("claims_a_score", _program(
        "combined_score = 1.0",
        "return {'combined_score': 1.0, 'order': trivial(transactions)}"), Fail("a dict")),
    # The forged text lands on the reply channel (fd 3) but is no reply: the child then died.
    Case("forges_the_answer_with_a_score", _at_import(
        "import json, os\n"
        "families = ('zipf', 'rmw', 'rfwl', 'edge')\n"
        "orders = {f'{family}-s1': list(range(100)) for family in families}\n"
        "os.write(3, json.dumps({'orders': orders, 'combined_score': 1e9,\n"
        "                        'per_workload': {'zipf-s1': 1.0}}).encode())\n"
        "os._exit(0)"), Fail("crashed (exit code 0)")),
    Case("forges_every_descriptor", _in_schedule(
        "import json, os\n"
        "fake = json.dumps({'phase': 'done', 'ok': True, 'error': None, 'traceback': '',\n"
        "                   'value': {'combined_score': 1e9}}).encode()\n"
        "for fd in range(3, 256):\n"
        "    try:\n"
        "        os.write(fd, fake)\n"
        "    except OSError:\n"
        "        pass"), CONTAINED),
    # The driver bound json's functions before importing the program: the patch reaches nothing.
    Case("patches_the_json_encoder", _at_import(
        "import json\njson.dumps = lambda *args, **kwargs: '{\"orders\": {}}'"),
        BLOCKED),
    Case("monkeypatches_the_timer", _at_import(
        "import time\nfor name in ('time', 'perf_counter', 'monotonic', 'process_time'):\n"
        "    setattr(time, name, lambda: 0.0)"), BLOCKED),
    Case("monkeypatches_the_simulator", _at_import(
        "import importlib.util, sys\n"
        "sys.dont_write_bytecode = True  # this case is about patching, not planting files\n"
        "try:\n"
        "    spec = importlib.util.spec_from_file_location('evaluator', '$problem/evaluator.py')\n"
        "    sim = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(sim)\n"
        "    sim.makespan = lambda workload, order: 0\n"
        "    sim.workload_score = lambda workload, span: 1.0\n"
        "    sys.modules['evaluator'] = sim\n"
        "except OSError:\n"
        "    pass"), BLOCKED),
    Case("forbidden_imports", _at_import(
        "import ctypes, importlib, shutil, socket, subprocess"), BLOCKED),
    # ---------------------------------------------------------------- reading secrets
    Case("reads_the_evaluator", _in_schedule(
        "try:\n    text = open('$problem/evaluator.py').read()\nexcept OSError:\n    text = None\n"
        "if text is not None:\n    raise Escaped('read evaluator.py')"), BLOCKED, needs_jail=True),
    Case("reads_the_heldout_seeds", _in_schedule(
        "try:\n    text = open('$problem/problem.toml').read()\nexcept OSError:\n    text = ''\n"
        "if 'heldout' in text:\n    raise Escaped('read the held-out seeds')"),
        BLOCKED, needs_jail=True),
    Case("reads_the_shipped_problem", _in_schedule(
        "try:\n    text = open('$shipped/problem.toml').read()\nexcept OSError:\n    text = ''\n"
        "if 'heldout' in text:\n    raise Escaped('read the shipped problem.toml')"),
        BLOCKED, needs_jail=True),
    Case("searches_the_disk_for_seeds", _in_schedule(
        "import os\n"
        "for top in ('/work', '/root', '/home', '/tmp', '$outside'):\n"
        "    for folder, dirs, files in os.walk(top):\n"
        "        if folder.count('/') > 12:\n"
        "            dirs[:] = []\n"
        "        dirs[:] = [d for d in dirs if d not in ('site-packages', '.git')]  # no seeds there\n"
        "        if 'problem.toml' in files:\n"
        "            try:\n"
        "                text = open(os.path.join(folder, 'problem.toml')).read()\n"
        "            except OSError:\n"
        "                continue\n"
        "            if 'heldout' in text:\n"
        "                raise Escaped('found ' + folder)"), BLOCKED, needs_jail=True),
    Case("reads_other_processes_environment", _in_schedule(
        "import os\n"
        "for pid in os.listdir('/proc'):\n"
        "    try:\n"
        "        data = open(f'/proc/{pid}/environ', 'rb').read()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if b'$secret' in data:\n"
        "        raise Escaped('read an API key from /proc')"), BLOCKED, needs_jail=True),
    Case("reads_the_api_key_from_its_environment", _in_schedule(
        "import os\n"
        "if any('$secret' in value for value in os.environ.values()):\n"
        "    raise Escaped('saw the API key in its environment')"), BLOCKED),
    Case("reads_the_parents_files_through_proc", _in_schedule(
        "import os\n"
        "try:\n"
        "    text = open(f'/proc/{os.getppid()}/root$problem/evaluator.py').read()\n"
        "except OSError:\n"
        "    text = None\n"
        "if text is not None:\n"
        "    raise Escaped('read evaluator.py through /proc')"), BLOCKED, needs_jail=True),
    # ---------------------------------------------------------------- writing outside scratch
    Case("corrupts_the_run_repository", _in_schedule(
        "import os\nwritten = []\n"
        "for folder, dirs, files in os.walk('$run/.git'):\n"
        "    for name in files:\n"
        "        try:\n"
        "            with open(os.path.join(folder, name), 'wb') as f:\n"
        "                f.write(b'garbage')\n"
        "            written.append(name)\n"
        "        except OSError:\n"
        "            pass\n"
        "if written or os.path.exists('$run/.git'):\n"
        "    try:\n"
        "        open('$run/.git/HEAD', 'a').close()\n"
        "        raise Escaped('can write into the run repository')\n"
        "    except OSError:\n"
        "        pass"), BLOCKED, needs_jail=True),
    Case("deletes_the_run_repository", _in_schedule(
        "import shutil\n"
        "try:\n"
        "    shutil.rmtree('$run')\n"
        "    removed = True\n"
        "except OSError:\n"
        "    removed = False\n"
        "if removed:\n"
        "    raise Escaped('deleted the run repository')"), BLOCKED, needs_jail=True),
    Case("rewrites_the_evaluator", _in_schedule(
        "try:\n"
        "    with open('$problem/evaluator.py', 'w') as f:\n"
        "        f.write('def evaluate(path):\\n    return {\"combined_score\": 1e9}\\n')\n"
        "    done = True\n"
        "except OSError:\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('rewrote evaluator.py')"), BLOCKED, needs_jail=True),
    Case("edits_the_adrs_source", _in_schedule(
        "try:\n"
        "    with open('$source', 'a') as f:\n"
        "        f.write('\\n# owned\\n')\n"
        "    done = True\n"
        "except OSError:\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('edited the adrs source')"), BLOCKED, needs_jail=True),
    Case("writes_through_a_symlink", _in_schedule(
        "import os\n"
        "if not os.path.islink('head-link'):\n"
        "    os.symlink('$run/.git/HEAD', 'head-link')\n"
        "try:\n"
        "    with open('head-link', 'w') as f:\n"
        "        f.write('ref: refs/heads/nothing\\n')\n"
        "    done = True\n"
        "except OSError:\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('wrote through a symlink')"), BLOCKED, needs_jail=True),
    Case("writes_the_hosts_tmp", _in_schedule(
        "try:\n"
        "    with open('/tmp/$token', 'w') as f:\n"
        "        f.write('was here')\n"
        "except OSError:\n"
        "    pass"), BLOCKED, needs_jail=True),
    Case("writes_beside_its_scratch", _in_schedule(
        "import os\n"
        "try:\n"
        "    with open(os.path.join(os.path.dirname(os.getcwd()), 'planted.py'), 'w') as f:\n"
        "        f.write('x')\n"
        "    done = True\n"
        "except OSError:\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('wrote beside its scratch folder')"), BLOCKED, needs_jail=True),
    Case("chdir_to_root_and_write", _in_schedule(
        "import os\nos.chdir('/')\n"
        "try:\n"
        "    with open('adrs-escape.txt', 'w') as f:\n"
        "        f.write('x')\n"
        "    done = True\n"
        "except OSError:\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('wrote into /')"), BLOCKED, needs_jail=True),
    Case("chdir_away", _at_import("import os\nos.chdir('/')"), BLOCKED),
    # ---------------------------------------------------------------- privileges and network
    Case("raises_its_limits", _in_schedule(
        "import resource\n"
        "try:\n"
        "    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,\n"
        "                                            resource.RLIM_INFINITY))\n"
        "    done = True\n"
        "except (OSError, ValueError):\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('raised its memory limit')"), BLOCKED, needs_jail=True),
    Case("becomes_root", _in_schedule(
        "import os\n"
        "try:\n"
        "    os.setuid(0)\n"
        "    done = os.geteuid() == 0 and os.getuid() == 0\n"
        "except OSError:\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('is root')"), BLOCKED, needs_jail=True),
    Case("connects_over_tcp", _in_schedule(
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', $port), timeout=1).close()\n"
        "    done = True\n"
        "except OSError:\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('reached the network')"), BLOCKED, needs_jail=True),
    Case("connects_to_a_unix_socket", _in_schedule(
        "import socket\n"
        "client = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        "    client.connect('$unix_socket')\n"
        "    done = True\n"
        "except OSError:\n"
        "    done = False\n"
        "if done:\n"
        "    raise Escaped('reached a unix socket outside')"), BLOCKED, needs_jail=True),
]
