"""The workspace's one error type: every failure of the run's git repository is a WorkspaceError
with a one-line message, so callers catch one thing."""


class WorkspaceError(RuntimeError):
    """A run repository that cannot do what was asked; the message is one line."""
