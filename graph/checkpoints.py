"""LangGraph's SQLite checkpointer for the async graph, without a thread hop per statement.

aiosqlite runs every statement on a worker thread and hands the result back to the event loop;
for the small writes a run makes (a checkpoint and a task's writes per step) those hops cost more
than SQLite itself, which in WAL mode commits them in well under a millisecond. So the async
methods call the sync ones inline. A run has one writer (the run's lock), and the saver's own
lock still serialises its statements.

Only the newest checkpoint of each namespace (the run's, and each slot's) is ever read: a run
resumes from it, and adrs offers no time travel (git holds the history). So each new checkpoint
drops the older ones of its namespace and their writes; otherwise the file grew by a whole slot
state per step, about 60 KB per candidate (25 MB for 400 candidates of txn_scheduling).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver


class InlineSqliteSaver(SqliteSaver):
    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        saved = super().put(config, checkpoint, metadata, new_versions)
        place = saved["configurable"]
        older = (place["thread_id"], place["checkpoint_ns"], place["checkpoint_id"])
        with self.cursor() as cursor:  # checkpoint ids sort in the order they were made
            for table in ("writes", "checkpoints"):
                cursor.execute(f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? "
                               "AND checkpoint_id < ?", older)
        return saved

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
                    before: RunnableConfig | None = None,
                    limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint,
                   metadata: CheckpointMetadata, new_versions: ChannelVersions) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                          task_id: str, task_path: str = "") -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)
