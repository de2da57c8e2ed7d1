"""A small cache of the latest texts by git object id (objects never change: nothing goes stale)."""

from __future__ import annotations

from collections import OrderedDict


class TextCache:
    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._texts: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        return self._texts.get(key)

    def put(self, key: str, text: str) -> str:
        self._texts[key] = text
        self._texts.move_to_end(key)
        if len(self._texts) > self._size:
            self._texts.popitem(last=False)
        return text
