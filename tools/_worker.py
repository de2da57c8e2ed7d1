"""Run one function of a problem's evaluator.py inside the sandbox and report on the result channel.

Standalone on purpose (stdlib only, imports nothing from adrs), so the sandbox needs no package:

    python -I _worker.py <evaluator.py> <function> <program_path> [json kwargs [json options]]

options: {"cascade": true | false | null, "thresholds": [...]} (tools/cascade.py) and
"workdir", the folder (relative to the cwd) to run in. The siblings
results.py, cascade.py and (after an import failure) requirements.py, stdlib only, are loaded by
path: under -I this script's folder is not on sys.path.

Writes one JSON object to the file descriptor named by $ADRS_RESULT_FD (stdout if unset):
    {"phase": "import" | "call" | "done", "ok": bool, "value": <evaluator's return value>,
     "error": "ExcType: message" | null, "traceback": "<last lines>" | "",
     "missing_function": "<name>"  (only when evaluator.py has no such function),
     "missing_modules": [...]      (only when its import failed for want of a module)}
An object with `metrics` and `artifacts` (OpenEvolve's EvaluationResult) is sent as one dict.
Values are made JSON-safe: numpy scalars and arrays become plain Python, NaN and infinities become
the strings "nan", "inf" and "-inf" so the parent rejects them instead of this script crashing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import numbers
import os
import sys
import traceback

RESULT_FD_ENV = "ADRS_RESULT_FD"
TRACEBACK_LINES = 30
MAX_DEPTH = 100
MAX_REPR_CHARS = 1000


def _sibling(name: str):
    """A stdlib-only module of this folder, by path."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location(f"adrs_worker_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


results, cascade = _sibling("results"), _sibling("cascade")
# Import targets some peer evaluators need (OpenEvolve's EvaluationResult); last on sys.path, so
# a real installation wins.
SHIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_shims")


def main(argv: list[str]) -> int:
    if len(argv) not in (4, 5, 6):
        sys.stderr.write("usage: _worker.py <evaluator.py> <function> <program_path> "
                         "[json kwargs [json options]]\n")
        return 2
    evaluator_path, function_name, program_path = argv[1:4]
    try:
        kwargs, options = (json.loads(text) for text in (argv[4:6] + ["{}", "{}"])[:2])
    except json.JSONDecodeError as exc:
        sys.stderr.write(f"_worker.py: kwargs or options are not valid JSON: {exc}\n")
        return 2
    if not isinstance(kwargs, dict) or not isinstance(options, dict):
        sys.stderr.write("_worker.py: kwargs and options must be JSON objects\n")
        return 2
    sys.dont_write_bytecode = True  # never leave __pycache__ in the problem folder
    channel = _open_channel()
    payload = run(evaluator_path, function_name, program_path, kwargs, options)
    _send(channel, payload)
    return 0 if payload["ok"] else 1


def run(evaluator_path: str, function_name: str, program_path: str, kwargs: dict,
        options: dict | None = None) -> dict:
    """Import the evaluator, call the function (or its cascade), and describe what happened as a
    JSON-safe dict."""
    options = options or {}
    os.chdir(options.get("workdir") or ".")  # the mirror of the evaluator's own folder
    try:
        module = _load_evaluator(evaluator_path)
    except BaseException as exc:  # SystemExit/KeyboardInterrupt included: all are reported
        return import_failure(evaluator_path, exc)
    return call(module, function_name, program_path, kwargs, options)


def import_failure(evaluator_path: str, exc: BaseException) -> dict:
    """The report of an evaluator that did not import, naming the modules it lacks."""
    failure = _failure("import", exc)
    if isinstance(exc, ModuleNotFoundError):
        failure["missing_modules"] = (_sibling("requirements").missing_modules(evaluator_path)
                                      or [name for name in [exc.name] if name])
    return failure


def call(module, function_name: str, program_path: str, kwargs: dict,
         options: dict | None = None) -> dict:
    """Call a function of the imported evaluator, or its cascade of stages (a warm worker imports
    the evaluator once and calls this in each fork: _serve.py)."""
    options = options or {}
    staged = cascade.wanted(module, function_name, kwargs, options.get("cascade"))
    function = getattr(module, function_name, None)
    if not staged and not callable(function):
        return {"phase": "import", "ok": False, "value": None,
                "error": f"AttributeError: evaluator.py defines no function {function_name!r}",
                "traceback": "", "missing_function": function_name}
    try:
        if staged:
            value = cascade.run(module, program_path, list(options.get("thresholds") or []),
                                flatten=results.flatten, score_of=results.score_of)
        else:
            value = results.flatten(function(program_path, **kwargs))
    except BaseException as exc:
        return _failure("call", exc)
    try:
        safe = to_json_safe(value)
    except Exception as exc:
        return _failure("call", exc)
    return {"phase": "done", "ok": True, "value": safe, "error": None, "traceback": ""}


def _load_evaluator(path: str):
    path = os.path.abspath(path)
    # Its own folder first, so the evaluator can import its sibling modules.
    sys.path.insert(0, os.path.dirname(path))
    if SHIMS not in sys.path:
        sys.path.append(SHIMS)
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickle look the module up by name
    spec.loader.exec_module(module)
    return module


def module_name(path: str) -> str:
    """The evaluator's module name: its file's, as when it runs as a script's import, so that a
    process pool started with "spawn" or "forkserver" (CUDA code; Python 3.14's default) can
    import it again to unpickle its functions. A name already taken falls back to a private one."""
    stem = os.path.splitext(os.path.basename(path))[0]
    # Never a standard module's name (an evaluator.py named csv.py would shadow the real csv).
    if stem.isidentifier() and stem not in sys.modules and stem not in sys.stdlib_module_names:
        return stem
    return f"adrs_evaluator_{os.getpid()}"


def _failure(phase: str, exc: BaseException) -> dict:
    lines = "".join(traceback.format_exception(exc)).splitlines()
    return {"phase": phase, "ok": False, "value": None, "error": describe(exc),
            "traceback": "\n".join(lines[-TRACEBACK_LINES:])}


def describe(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def to_json_safe(value: object, depth: int = 0) -> object:
    """Plain JSON types only; non-finite floats as strings; anything unknown as its repr."""
    if depth > MAX_DEPTH:
        return "<nested too deep>"
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return _finite_or_text(float(value))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, dict):
        return {str(key): to_json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_safe(item, depth + 1) for item in value]
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy scalars and arrays
        return to_json_safe(value.tolist(), depth + 1)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _finite_or_text(float(value))
    return repr(value)[:MAX_REPR_CHARS]


def _finite_or_text(number: float) -> float | str:
    if math.isfinite(number):
        return number
    if math.isnan(number):
        return "nan"
    return "inf" if number > 0 else "-inf"


def _open_channel() -> int:
    text = os.environ.pop(RESULT_FD_ENV, None)  # popped: the evaluator's children need not see it
    if text is None:
        return os.dup(sys.stdout.fileno())
    fd = int(text)
    os.set_inheritable(fd, False)  # keep it from grandchildren started without close_fds
    return fd


def _send(fd: int, payload: dict) -> None:
    try:
        data = json.dumps(payload, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:  # should not happen after to_json_safe; report it
        data = json.dumps({"phase": payload.get("phase", "call"), "ok": False, "value": None,
                           "error": f"result could not be encoded: {describe(exc)}",
                           "traceback": ""}).encode("utf-8")
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.close(fd)


if __name__ == "__main__":
    code = main(sys.argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError as exc:  # e.g. the output file limit; the result is already sent
            os.write(2, f"_worker.py: could not flush output: {exc}\n".encode())
    # os._exit: threads or atexit hooks left by the evaluator must not hold the sandbox open.
    os._exit(code)
