"""Record and replay: every answer a run got, stored under the run, keyed by the request's hash.

    <run>/.adrs/recordings/<sha256 of the request>.json

Each file holds the request (for reading), the answer (or how the call failed for good) and the
transient faults met on the way, so a replay reproduces the run's accounting too. Nothing of the
client is stored (no headers, no keys), and every secret-looking environment value is masked
before writing, as a second line of defence.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, message_to_dict, messages_from_dict

RECORDINGS_DIR = Path(".adrs") / "recordings"
REDACTED = "[redacted]"
_SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET")


def secret_values() -> list[str]:
    """Values of environment variables that look like credentials (long enough to be one)."""
    return sorted({value for name, value in os.environ.items()
                   if name.upper().endswith(_SECRET_SUFFIXES) and len(value) >= 8},
                  key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every secret-looking environment value replaced by [redacted]."""
    for value in secret_values():
        text = text.replace(value, REDACTED)
    return text


@dataclass(frozen=True)
class Recording:
    """One recorded call: its answer, or the kind and message of its final failure."""

    response: AIMessage | None
    faults: tuple[str, ...]  # transient faults before the outcome, in order
    failure: tuple[str, str] | None = None  # (kind, message) when the call failed for good


class RecordingStore:
    """A folder of recordings; safe for parallel writers (one file per key, atomic rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @classmethod
    def of_run(cls, run_root: Path) -> RecordingStore:
        return cls(Path(run_root) / RECORDINGS_DIR)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def save(self, key: str, request: dict[str, Any], recording: Recording) -> None:
        document = {
            "key": key,
            "request": request,
            "faults": list(recording.faults),
            "response": message_to_dict(recording.response) if recording.response else None,
            "failure": list(recording.failure) if recording.failure else None,
        }
        text = redact(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False))
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(temporary, self.path(key))

    def load(self, key: str) -> Recording | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            response = (messages_from_dict([document["response"]])[0]
                        if document.get("response") else None)
            failure = tuple(document["failure"]) if document.get("failure") else None
            faults = tuple(str(kind) for kind in document.get("faults", []))
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"recording {path.name} is unreadable: {exc}") from exc
        if response is not None and not isinstance(response, AIMessage):
            raise ValueError(f"recording {path.name} does not hold an AI message")
        if response is None and failure is None:
            raise ValueError(f"recording {path.name} has neither an answer nor a failure")
        return Recording(response=response, faults=faults,
                         failure=(str(failure[0]), str(failure[1])) if failure else None)

    def keys(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob("*.json")
                      if not path.name.startswith("."))
