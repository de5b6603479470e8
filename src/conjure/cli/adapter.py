"""doit tasks as the engine's ``Work``: definitions, ``uptodate``, actions, values.

doit's own action classes describe *what* to run (``CmdAction.expand_action()``, a
``PythonAction``'s callable and arguments); this module runs them the engine's way: commands
in their own process group with a timeout, Python callables with per-thread output capture.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from doit.action import BaseAction, CmdAction, PythonAction
from doit.dependency import UptodateCalculator
from doit.exceptions import BaseFail
from doit.task import Task, dict_to_task

from conjure.engine.cache.key import VERSION_COMMANDS
from conjure.engine.capture import Sink, capturing
from conjure.engine.events import Reason
from conjure.engine.files import FileIndex
from conjure.engine.fingerprint import canonical_json, describe_callable, describe_value
from conjure.engine.graph import NodeSpec
from conjure.engine.hashing import Digester
from conjure.engine.model import Cancel, Outcome
from conjure.engine.process import run_command
from conjure.engine.state import TaskRecord
from conjure.errors import ConfigError

EXTRA_KEYS = ("env", "timeout", "pool", "cache", "tools", "finally")
"""Task-dict keys conjure adds to doit's; kept in ``task.meta['conjure']``."""


class Values:
    """Saved values and results of tasks: this run's first, then the recorded ones.

    It is also the ``dep_manager`` that doit's ``UptodateCalculator`` helpers
    (``result_dep``) read through ``_get``.
    """

    def __init__(self, records: Mapping[str, TaskRecord]) -> None:
        self.records = records
        self.fresh: dict[str, Outcome] = {}

    def get_values(self, name: str) -> dict[str, Any]:
        """The values a task saved in its last successful run."""
        if name in self.fresh:
            return dict(self.fresh[name].values)
        record = self.records.get(name)
        return record.saved_values() if record else {}

    def get_value(self, name: str, key: str) -> Any:
        """One saved value of a task."""
        values = self.get_values(name)
        if key not in values:
            raise ConfigError(f"task {name!r} saved no value {key!r} (used by getargs)")
        return values[key]

    def get_result(self, name: str) -> str | None:
        """The result digest of a task's last successful run."""
        if name in self.fresh:
            return self.fresh[name].result
        record = self.records.get(name)
        return record.result if record else None

    def _get(self, name: str, key: str) -> Any:
        if key == "result:":
            return self.get_result(name)
        if key == "_values_:":
            return self.get_values(name)
        return None


class DoitWork:
    """One doit task, as the engine runs it.

    Args:
        task: the doit task.
        files: for canonical paths.
        digester: for result digests.
        values: saved values of all tasks.
        tasks: all doit tasks by name (for ``uptodate`` helpers and ``getargs``).
        root: the project root, replaced by ``<root>`` in definitions.
        grace: seconds between SIGTERM and SIGKILL.
    """

    def __init__(
        self,
        task: Task,
        files: FileIndex,
        digester: Digester,
        values: Values,
        tasks: Mapping[str, Task],
        root: str,
        grace: float,
    ) -> None:
        self.task = task
        self.name = task.name
        meta = task.meta
        extra = meta.get("conjure") if meta else None
        self.pool: str | None = extra.get("pool") if extra else None
        self.timeout: float | None = extra.get("timeout") if extra else None
        self.env_spec: Any = extra.get("env") if extra else None
        self.is_finally: bool = bool(extra.get("finally")) if extra else False
        self._upstream: dict[str, str] | None = None
        self.has_actions = bool(task._actions)
        # a task with nothing to do (a group of subtasks) is never re-run for lack of deps
        self.always_runs = self.has_actions and not task.file_dep and not task.uptodate
        # outputs go through the cache only when they are declared and the inputs are known
        self.cacheable = bool(
            task.targets
            and self.has_actions
            and not self.always_runs
            and (extra.get("cache", True) if extra else True)
        )
        self._tools: list[str] | None = list(extra["tools"]) if extra and "tools" in extra else None
        deps = task.task_dep
        if task.setup_tasks or task.calc_dep:
            deps = [*deps, *task.setup_tasks, *task.calc_dep]
        key = files.key
        self.spec = NodeSpec(
            task.name, deps, [key(p) for p in task.file_dep], [key(p) for p in task.targets]
        )
        self._digester = digester
        self._values = values
        self._tasks = tasks
        self._root = root
        self._grace = grace
        self._definition: str | None = None

    @property
    def uses_python(self) -> bool:
        """Whether an action is Python code (the interpreter's version is then in its key)."""
        return any(isinstance(a, PythonAction) for a in self.task.actions)

    def tools(self) -> list[str]:
        """Declared ``tools``, plus known toolchains its commands start with (``go ...``)."""
        found = set(self._tools or ())
        for action in self.task.actions:
            if isinstance(action, CmdAction) and isinstance(action._action, (str, list)):
                tool = _first_word(action._action)
                if tool in VERSION_COMMANDS:
                    found.add(tool)
        return sorted(found)

    def definition_digest(self) -> str:
        """Digest of the actions, declared env and params.

        Shell-string actions (the common case) skip JSON: their digest is taken over the
        joined command texts, the cheapest canonical form on the no-op path.
        """
        if self._definition is None:
            actions = self.task._actions
            if self.env_spec is None and not self._has_params() and _all_strings(actions):
                text = "shell\x1f" + "\x1f".join(actions)
                if self._root:
                    text = text.replace(self._root, "<root>")
            else:
                text = self.definition_json()
            self._definition = self._digester.of_text(text)
        return self._definition

    def definition_json(self) -> str:
        """The definition's parts as canonical JSON (for explaining a change)."""
        return canonical_json(self.definition_parts(), self._root)

    def _has_params(self) -> bool:
        return bool(self.task.params or self.task.creator_params or self.task.pos_arg)

    def definition_parts(self) -> dict[str, Any]:
        """The definition as JSON-ready parts: actions, env, params."""
        parts: dict[str, Any] = {"actions": [_describe_action(a) for a in self.task._actions]}
        if self.env_spec is not None:
            parts["env"] = self.environment_overrides()
        if self._has_params():
            self.task.init_options()
            parts["params"] = {k: describe_value(v) for k, v in self.task.options.items()}
            if self.task.pos_arg:
                parts["params"]["*" + self.task.pos_arg] = self.task.pos_arg_val
        return parts

    def environment_overrides(self) -> dict[str, str | None]:
        """The declared environment: names read from ``os.environ``, or values set."""
        spec = self.env_spec
        if isinstance(spec, Mapping):
            return {str(k): None if v is None else str(v) for k, v in sorted(spec.items())}
        return {name: os.environ.get(name) for name in sorted(spec)}

    def uptodate_reasons(self, record: TaskRecord | None) -> list[Reason]:
        """Evaluates doit ``uptodate`` items the way doit does."""
        reasons = []
        for item, args, kwargs in self.task.uptodate:
            value = self._evaluate_uptodate(item, args, kwargs, record)
            if value is not None and not value:
                label = describe_value(item) if callable(item) else repr(item)
                reasons.append(Reason("uptodate", f"uptodate check {label[:80]} said stale"))
        return reasons

    def _evaluate_uptodate(
        self, item: Any, args: Any, kwargs: Any, record: TaskRecord | None
    ) -> Any:
        if isinstance(item, str):
            return (
                subprocess.call(
                    item, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                == 0
            )
        if not callable(item):
            return item
        if isinstance(item, UptodateCalculator):
            item.setup(self._values, self._tasks)
        magic: list[Any] = []
        for index, name in enumerate(inspect.signature(item).parameters):
            if index == 0 and name == "task":
                magic.append(self.task)
            elif index == 1 and name == "values":
                magic.append(record.saved_values() if record else {})
        return item(*magic, *args, **kwargs)

    def execute(
        self, changed: list[str], cancel: Cancel, upstream: Mapping[str, str] | None = None
    ) -> Outcome:
        """Runs the task's actions on this (worker) thread.

        A finally task's Python actions that take an ``upstream`` parameter receive
        ``upstream`` (dependency name -> status), next to doit's ``targets``, ``changed``...
        """
        self.task.dep_changed = changed
        self._upstream = None if upstream is None else dict(upstream)
        self.task.init_options()
        self._apply_getargs()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        outcome = self._run_actions(self.task.actions, cancel, deadline)
        if outcome.ok:
            self.task.save_extra_values()
            outcome.values = dict(self.task.values)
            outcome.result = self._result_digest(self.task.result)
        return outcome

    def teardown(self) -> Outcome:
        """Runs the task's teardown actions."""
        return self._run_actions(self.task.teardown, Cancel(), None)

    def _apply_getargs(self) -> None:
        for arg, (task_id, key) in self.task.getargs.items():
            source = self._tasks[task_id]
            if source.has_subtask:
                prefix = len(task_id) + 1
                self.task.options[arg] = {
                    sub[prefix:]: self._value(sub, key) for sub in source.task_dep
                }
            else:
                self.task.options[arg] = self._value(task_id, key)

    def _value(self, name: str, key: str | None) -> Any:
        return self._values.get_values(name) if key is None else self._values.get_value(name, key)

    def _run_actions(
        self, actions: list[BaseAction], cancel: Cancel, deadline: float | None
    ) -> Outcome:
        sink = Sink()
        for action in actions:
            if cancel.cancelled:
                return Outcome(False, sink.text(), error=f"stopped ({cancel.reason})")
            failure = self._run_action(action, sink, cancel, deadline)
            if failure is not None:
                failure.output = sink.text()
                return failure
            self.task.result = action.result
            self.task.values.update(action.values)
        return Outcome(True, sink.text())

    def _run_action(
        self, action: BaseAction, sink: Sink, cancel: Cancel, deadline: float | None
    ) -> Outcome | None:
        if isinstance(action, CmdAction):
            return self._run_command(action, sink, cancel, deadline)
        if isinstance(action, PythonAction):
            return _run_python(action, sink, self._upstream)
        with capturing(sink):  # a custom action class: let it run its own way
            returned = action.execute(out=None, err=None)
        if isinstance(returned, BaseFail):
            return Outcome(False, error=returned.get_msg().strip().splitlines()[-1])
        return None

    def _run_command(
        self, action: CmdAction, sink: Sink, cancel: Cancel, deadline: float | None
    ) -> Outcome | None:
        command = action.expand_action()
        env = dict(action.pkwargs.get("env") or os.environ)
        if self.env_spec is not None and isinstance(self.env_spec, Mapping):
            for key, value in self.environment_overrides().items():
                if value is None:
                    env.pop(key, None)
                else:
                    env[key] = value
        try:
            done = run_command(
                command,
                sink=sink,
                cancel=cancel,
                deadline=deadline,
                cwd=action.pkwargs.get("cwd"),
                env=env,
                grace=self._grace,
            )
        except OSError as err:
            return Outcome(False, error=f"cannot start {_show(command)}: {err.strerror or err}")
        action.out = action.result = done.stdout
        action.err = sink.stream_text("err")
        if action.save_out:
            action.values = {action.save_out: done.stdout}
        if done.timed_out:
            return Outcome(False, error=f"timed out after {self.timeout:g}s: {_show(command)}")
        if done.cancelled:
            return Outcome(False, error=f"stopped ({cancel.reason}): {_show(command)}")
        if done.returncode != 0:
            return Outcome(
                False,
                error=f"command failed (exit {done.returncode}): {_show(command)}",
                exit_code=done.returncode,
            )
        return None

    def _result_digest(self, result: Any) -> str | None:
        if not result:
            return None
        if isinstance(result, dict):
            return self._digester.of_text(json.dumps(result, sort_keys=True, default=str))
        return self._digester.of_text(str(result))


def _all_strings(actions: list[Any]) -> bool:
    return all(type(action) is str for action in actions)


def _run_python(
    action: PythonAction, sink: Sink, upstream: dict[str, str] | None
) -> Outcome | None:
    """Calls a Python action with its output captured; doit's return-value rules apply."""
    with capturing(sink):
        try:
            kwargs = action._prepare_kwargs()
            if upstream is not None and _takes(action, "upstream", kwargs):
                kwargs["upstream"] = dict(upstream)
            returned = action.py_callable(*action.args, **kwargs)
        except Exception as err:  # noqa: BLE001 - the task failed, report it
            sink.write("err", traceback.format_exc())
            code = getattr(err, "exit_code", None)  # e.g. conjure.shell.CommandError
            return Outcome(
                False,
                error=f"{_callable_name(action)} raised {type(err).__name__}: {err}",
                exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            )
    if returned is False:
        return Outcome(False, error=f"{_callable_name(action)} returned False")
    if returned is True or returned is None:
        return None
    if isinstance(returned, str):
        action.result = returned
        return None
    if isinstance(returned, dict):
        action.values = returned
        action.result = returned
        return None
    if isinstance(returned, BaseFail):
        return Outcome(False, error=returned.get_msg().strip().splitlines()[-1])
    return Outcome(
        False,
        error=f"{_callable_name(action)} returned {type(returned).__name__}; "
        "expected True, False, None, a string or a dict",
    )


def _takes(action: PythonAction, name: str, kwargs: Mapping[str, Any]) -> bool:
    """Whether a Python action has a parameter ``name`` that nothing gave a value yet."""
    parameters = inspect.signature(action.py_callable).parameters
    return (
        name in parameters
        and name not in kwargs
        and len(action.args) <= list(parameters).index(name)
    )


def _callable_name(action: PythonAction) -> str:
    func = action.py_callable
    return getattr(func, "__qualname__", None) or type(func).__name__


def _describe_action(action: Any) -> Any:
    if isinstance(action, str):
        return action
    if isinstance(action, list):
        return [describe_value(item) if not isinstance(item, str) else item for item in action]
    if isinstance(action, tuple):
        func, *rest = action
        return {"call": describe_callable(func), "args": [describe_value(r) for r in rest]}
    if isinstance(action, CmdAction):
        raw = action._action
        described = raw if isinstance(raw, (str, list)) else describe_value(raw)
        return {"cmd": described, "options": describe_value(sorted(action.pkwargs.items()))}
    if isinstance(action, PythonAction):
        return {
            "call": describe_callable(action.py_callable),
            "args": describe_value(action.args),
            "kwargs": describe_value(sorted(action.kwargs.items())),
        }
    if callable(action):
        return {"call": describe_callable(action)}
    return describe_value(action)


def _first_word(command: str | list[Any]) -> str:
    """The program a command starts (after ``VAR=value`` assignments), by base name."""
    words = command.split() if isinstance(command, str) else [str(w) for w in command]
    for word in words:
        if "=" in word and not word.startswith(("-", "/", ".")):
            continue
        return os.path.basename(word)
    return ""


def _show(command: str | list[str]) -> str:
    text = command if isinstance(command, str) else " ".join(str(c) for c in command)
    return text if len(text) <= 120 else text[:117] + "..."


def task_from_dict(task_dict: dict[str, Any]) -> Task:
    """doit's ``dict_to_task`` for a dict that may carry conjure's keys (moved to ``meta``).

    Raises:
        ConfigError: a conjure key has the wrong type.
        InvalidTask: doit's own validation.
    """
    extract_extra_keys(task_dict)
    return dict_to_task(task_dict)


def extract_extra_keys(task_dict: dict[str, Any]) -> None:
    """Moves conjure's task keys (env, timeout, pool, cache, tools, finally) into
    ``meta['conjure']``.

    Raises:
        ConfigError: a value has the wrong type.
    """
    found = {key: task_dict.pop(key) for key in EXTRA_KEYS if key in task_dict}
    if not found:
        return
    name = task_dict.get("name") or task_dict.get("basename") or "?"
    _validate_extra(name, found)
    meta = dict(task_dict.get("meta") or {})
    meta["conjure"] = found
    task_dict["meta"] = meta


def _validate_extra(name: str, found: dict[str, Any]) -> None:
    checks: dict[str, tuple[Callable[[Any], bool], str]] = {
        "env": (lambda v: isinstance(v, (dict, list, tuple)), "a dict or a list of names"),
        "timeout": (
            lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
            "a positive number of seconds",
        ),
        "pool": (lambda v: isinstance(v, str) and bool(v), "a pool name"),
        "cache": (lambda v: isinstance(v, bool), "True or False"),
        "finally": (lambda v: isinstance(v, bool), "True or False"),
        "tools": (
            lambda v: isinstance(v, (list, tuple)) and all(isinstance(t, str) for t in v),
            "a list of tool names",
        ),
    }
    for key, value in found.items():
        valid, expected = checks[key]
        if not valid(value):
            raise ConfigError(f"task {name!r}: {key} must be {expected}, got {value!r}")
