"""doit commands that run on conjure's engine when the dodo.py opted in.

Registered as ``doit.COMMAND`` entry points, they replace doit's ``run``, ``list``, ``info``,
``forget``, ``clean`` and add ``explain`` and ``graph``. Each first loads the dodo's
``DOIT_CONFIG``; without ``conjure.config()`` in it, the command is doit's own, unchanged.
"""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable, Sequence
from typing import Any

from doit import (
    cmd_clean,
    cmd_dumpdb,
    cmd_forget,
    cmd_help,
    cmd_ignore,
    cmd_info,
    cmd_list,
    cmd_resetdep,
    cmd_run,
    cmd_strace,
)
from doit import loader as doit_loader
from doit import plugin as doit_plugin
from doit.action import CmdAction
from doit.cmd_base import DoitCmdBase
from doit.control import TaskControl
from doit.exceptions import InvalidCommand, InvalidDodoFile, InvalidTask
from doit.task import Task

from conjure._config import CONJURE_KEY, is_enabled
from conjure.errors import EXIT_USAGE, ConjureError, UnsupportedError
from conjure.settings import set_dodo_values


@functools.cache
def _entry_points() -> Any:
    """doit looks up plug-ins three times per command (commands, then back-ends and
    reporters when the command is made), and each lookup reads the entry points of every
    installed distribution: ~1.3 ms each with a hundred of them. This module is imported by
    the first lookup; the later ones select from one reading."""
    from importlib.metadata import entry_points

    return entry_points()


doit_plugin.entry_points_impl = lambda: lambda group: _entry_points().select(group=group)


def load_conjure_config(command: DoitCmdBase, params: Any) -> dict[str, Any] | None:
    """Loads the dodo's DOIT_CONFIG; returns it when conjure is enabled, else None.

    The dodo module is imported once: doit would resolve relative ``-f``/``-d`` paths again
    from the new working directory if ``setup`` ran twice.
    """
    command.loader.setup(params)
    config: dict[str, Any] = command.loader.load_doit_config()
    command.loader.setup = lambda opt_values: None
    if not is_enabled(config):
        return None
    set_dodo_values(config[CONJURE_KEY])
    return config


def load_tasks(
    command: DoitCmdBase, params: Any, args: Sequence[str], config: dict[str, Any]
) -> list[Task]:
    """What doit's ``DoitCmdBase.execute`` does before ``_execute``, with conjure's task keys.

    Raises:
        InvalidDodoFile, InvalidTask: doit's own validation of the dodo.py.
    """
    prepare(command, params, args, config)
    return _load_with_extra_keys(command.loader.load_tasks, command, args)


def prepare(command: DoitCmdBase, params: Any, args: Sequence[str], config: dict[str, Any]) -> None:
    """doit's steps before loading tasks: defaults from DOIT_CONFIG, the selection."""
    params.update_defaults(config)
    command.check_minversion(params.get("minversion"))
    command.sel_default_tasks = len(args) == 0
    command.sel_tasks = list(args) or params.get("default_tasks")
    CmdAction.STRING_FORMAT = params.get("action_string_formatting", "old")


def _load_with_extra_keys(
    load: Callable[..., list[Task]], command: DoitCmdBase, args: Sequence[str]
) -> list[Task]:
    from conjure.cli.adapter import task_from_dict

    original = doit_loader.dict_to_task
    doit_loader.dict_to_task = task_from_dict
    try:
        return load(cmd=command, pos_args=list(args))
    finally:
        doit_loader.dict_to_task = original


def select(tasks: list[Task], selection: Sequence[str] | None) -> list[str]:
    """doit's task selection: names, ``group:sub``, wildcards, targets, task options."""
    control = TaskControl(tasks)
    control.process(list(selection) if selection else None)
    selected: list[str] = control.selected_tasks
    return selected


def report_error(err: BaseException) -> int:
    """Prints one line for a user error and returns its exit code."""
    code = err.exit_code if isinstance(err, ConjureError) else EXIT_USAGE
    sys.stderr.write(f"conjure: error: {err}\n")
    sys.stderr.flush()
    return code


_USER_ERRORS = (ConjureError, InvalidCommand, InvalidDodoFile, InvalidTask)


class _Conjure:
    """Mixin: doit's command unless the dodo opted in, then ``execute_conjure``."""

    def execute(self, params: Any, args: list[str]) -> int:
        command: Any = self
        try:
            config = load_conjure_config(command, params)
        except _USER_ERRORS as err:
            return report_error(err)
        if config is None:
            result: int = super().execute(params, args)  # type: ignore[misc]
            return result
        try:
            return self.execute_conjure(params, args, config)
        except _USER_ERRORS as err:
            return report_error(err)

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        """Runs the command on conjure's engine."""
        raise NotImplementedError


class Run(_Conjure, cmd_run.Run):
    """``doit [run]``: run tasks on conjure's engine."""

    cmd_options = (
        *cmd_run.Run.cmd_options,
        {
            "name": "dry_run",
            "long": "dry-run",
            "type": bool,
            "default": False,
            "help": "conjure: say what would run and why; run nothing, change nothing",
        },
        {
            "name": "trace",
            "long": "trace",
            "type": str,
            "default": "",
            "help": "conjure: write a Chrome trace of the run to FILE (open it in Perfetto)",
        },
        {
            "name": "output",
            "long": "output",
            "type": str,
            "default": "",
            "help": "conjure: output style: auto, rich or plain",
        },
    )

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        from conjure.cli import noop

        # Loading makes tens of thousands of dicts and lists, and every 700 of them the
        # collector would walk the young ones, now and then all of them: ~20% of a no-op.
        # Everything alive now (modules, doit, the dodo) lives until exit: freeze it, so no
        # pass (nor the last one at exit) walks it again. Back on before any task runs.
        gc.freeze()
        gc.disable()
        try:
            prepare(self, params, args, config)
            settings = noop.run_settings(params, config)
            loaded = noop.load_recorded(
                self.loader.load_tasks, self, args, config, settings, params
            )
            code = noop.serve(loaded, params, settings)
        finally:
            gc.enable()
        if code is not None:
            return code
        from conjure.cli.run import run_tasks

        return run_tasks(self, params, loaded, settings)


class List(_Conjure, cmd_list.List):
    """``doit list`` with conjure's up-to-date status."""

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        from conjure.cli.inspect import list_tasks

        tasks = load_tasks(self, params, args, config)
        return list_tasks(self, params, tasks, config)


class Info(_Conjure, cmd_info.Info):
    """``doit info TASK`` with conjure's reasons."""

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        from conjure.cli.inspect import info

        tasks = load_tasks(self, params, args, config)
        return info(self, params, args, tasks, config)


class Forget(_Conjure, cmd_forget.Forget):
    """``doit forget [TASK...]``: forget recorded runs in conjure's state."""

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        from conjure.cli.inspect import forget

        tasks = load_tasks(self, params, args, config)
        return forget(self, params, args, tasks, config)


class Clean(_Conjure, cmd_clean.Clean):
    """``doit clean``: doit's clean, forgetting in conjure's state with ``--forget``."""

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        from conjure.cli.inspect import clean

        tasks = load_tasks(self, params, args, config)
        return clean(self, params, args, tasks, config)


class Explain(_Conjure, DoitCmdBase):
    """``doit explain [TASK...]``: why each task would run; changes nothing."""

    name = "explain"
    doc_purpose = "explain why tasks would run (conjure)"
    doc_usage = "[TASK ...]"
    doc_description = (
        "For each task that would run: which file changed (old and new digest), which "
        "upstream task would re-run, which part of its definition or which env var changed, "
        "which target is missing. Runs nothing and changes no state."
    )

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        from conjure.cli.inspect import explain_tasks

        tasks = load_tasks(self, params, args, config)
        return explain_tasks(self, params, tasks, config)

    def _execute(self) -> int:
        raise InvalidCommand("`doit explain` needs a dodo.py with DOIT_CONFIG = conjure.config()")


class GraphCommand(_Conjure, DoitCmdBase):
    """``doit graph [TASK...]``: the task graph as DOT, Mermaid or JSON, or an SVG."""

    name = "graph"
    doc_purpose = "print the task graph as DOT, Mermaid or JSON (conjure)"
    doc_usage = "[TASK ...]"
    cmd_options = (
        {
            "name": "format",
            "short": "",
            "long": "format",
            "type": str,
            "default": "dot",
            "help": "dot, mermaid or json [default: %(default)s]",
        },
        {
            "name": "output",
            "short": "o",
            "long": "output",
            "type": str,
            "default": "",
            "help": "write to FILE; a .svg file is rendered with Graphviz's dot",
        },
    )

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        from conjure.cli.inspect import graph

        tasks = load_tasks(self, params, args, config)
        return graph(self, params, tasks, config)

    def _execute(self) -> int:
        raise InvalidCommand("`doit graph` needs a dodo.py with DOIT_CONFIG = conjure.config()")


class CacheCommand(_Conjure, DoitCmdBase):
    """``doit cache SUBCOMMAND``: look after the output cache."""

    name = "cache"
    doc_purpose = "look after the output cache: stats, prune, key, verify, clear, export, import"
    doc_usage = "stats | prune [--max-size 2GB] | key | verify | clear | export FILE | import FILE"
    doc_description = (
        "stats: entries, size and hit rate of the last runs. prune: drop least recently used "
        "entries until the cache fits (default: the cache_max_size setting). key: a short key "
        "for a CI cache step (lockfiles, toolchains, conjure's version). verify: check every "
        "blob; damaged ones are set aside. clear: delete every entry. export/import: the cache "
        "folder as a .tar.zst or .tar.gz archive (import refuses paths outside the cache)."
    )
    cmd_options = (
        {
            "name": "max_size",
            "short": "",
            "long": "max-size",
            "type": str,
            "default": "",
            "help": "prune: size limit such as 2GB or 500MB [default: the cache_max_size setting]",
        },
    )

    def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
        from conjure.cli.cache_cmd import cache_command

        return cache_command(params, args, config)

    def _execute(self) -> int:
        raise InvalidCommand("`doit cache` needs a dodo.py with DOIT_CONFIG = conjure.config()")


class Help(cmd_help.Help):
    """``doit help TASK`` for dodos whose tasks use conjure's keys (env, timeout, pool)."""

    def execute(self, params: Any, args: list[str]) -> int:
        if len(args) != 1 or args[0] == "task" or args[0] in self.cmds:
            result: int = super().execute(params, args)
            return result
        try:
            config = load_conjure_config(self, params)
            if config is None:
                fallback: int = super().execute(params, args)
                return fallback
            self.task_list = load_tasks(self, params, args, config)
        except _USER_ERRORS as err:
            return report_error(err)
        if not self._execute(args):
            self.print_usage(self.cmds)
        return 0


def _refusing(base: type, alternative: str) -> type:
    """A doit command that conjure's state does not back: refused with a pointer."""

    class Refused(_Conjure, base):
        def execute_conjure(self, params: Any, args: list[str], config: dict[str, Any]) -> int:
            raise UnsupportedError(
                f"`doit {self.name}` works on doit's own database, not conjure's state; "
                f"{alternative}"
            )

    Refused.__name__ = base.__name__
    Refused.__qualname__ = base.__name__
    return Refused


Ignore = _refusing(cmd_ignore.Ignore, "use `doit forget TASK` to make a task run again")
ResetDep = _refusing(cmd_resetdep.ResetDep, "use `doit forget` and run again")
DumpDB = _refusing(cmd_dumpdb.DumpDB, "inspect cache/state.sqlite with sqlite3, or `doit explain`")
Strace = _refusing(cmd_strace.Strace, "run strace on the task's command directly")
