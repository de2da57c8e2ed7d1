"""The errors a user can cause (a bad flag, folder, run or sandbox): each is one line to show,
never a traceback. The command line catches exactly these."""

from adrs.graph.rundir import RunError
from adrs.graph.settings import SettingsError
from adrs.tools.isolation import IsolationError
from adrs.tools.problem import ProblemError
from adrs.workspace.repository import WorkspaceError

USER_ERRORS: tuple[type[Exception], ...] = (
    ProblemError, SettingsError, RunError, WorkspaceError, IsolationError)
