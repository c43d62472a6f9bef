"""Errors by what the user has to do, and the one place that decides how each reaches them.

- ConfigError: fixed in the stack config. Each problem starts with its key (`ossm:<path>: ...`) and says
  the fix; the handler adds the stack file and line.
- ClusterError: fixed on the cluster. What the preview read there will not hold the stack as
  configured, and the program will not change it on its own; each problem names the object and the
  command (or the key that lets the program do it).
- InternalError: a failure of ours (a manifest of this repository, a contract between its parts). The
  user cannot fix it; the message says to report it.

All three are pulumi.RunError: Pulumi prints a RunError's message, never a traceback, and fails the
preview or update (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec: `except pulumi.RunError as
e: pulumi.log.error(str(e))`, exit code 1; any other exception prints "Program failed with an unhandled
exception" and the traceback), wherever in the program it is raised. `for_user` is the one handler:
__main__ passes it whatever the config and preview checks raise, and any exception that is not one of
the three kinds comes out as an InternalError naming its class and place, its traceback (without the
message, which may hold a value from the config) in the debug log.

This module imports nothing from the program: every part may raise these.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import ClassVar

import pulumi


class StackError(pulumi.RunError):
    """Problems the user reads as a list: a subject, how many, what follows for them, one line each."""

    subject: ClassVar[str] = "The stack has"
    outcome: ClassVar[str] = "nothing was created."
    counted: ClassVar[bool] = True  # "<subject> 2 problems; <outcome>" or "<subject>; <outcome>"

    def __init__(self, problems: Sequence[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        head = f"{self.subject} {len(self.problems)} {noun}" if self.counted else self.subject
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}; {self.outcome}\n{lines}")


class ConfigError(StackError, ValueError):
    """Every problem found in the stack config, one line each, with key path and fix."""

    subject = "The stack config has"


class ClusterError(StackError):
    """What the cluster holds stops the stack; each line says how to fix it there."""

    subject = "The cluster has"
    outcome = "fix them on the cluster as each line says, then run again."


class InternalError(StackError):
    """A failure inside this program: no config or cluster change fixes it."""

    subject = "The program failed inside itself, not because of the config or the cluster"
    outcome = "please report it with the output of `pulumi preview --debug`."
    counted = False


def for_user(error: BaseException, locate: Callable[[ConfigError], ConfigError]) -> pulumi.RunError:
    """What the user sees of `error`: `locate` adds the stack file and line to a ConfigError."""
    if isinstance(error, ConfigError):
        return locate(error)
    if isinstance(error, pulumi.RunError):  # the other kinds, and the SDK's own (a config value of a wrong type)
        return error
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    pulumi.log.debug("".join(traceback.format_list(frames)) + error.__class__.__name__)
    return InternalError(f"{error.__class__.__name__}{where}")
