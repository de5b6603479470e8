"""Putting tasks together: another module's tasks under a prefix, and tasks in series.

``include`` is Mage's ``// mage:import docs``: every task creator of another module (its
``task_*`` functions and objects with ``create_doit_tasks``, as doit finds them in a
dodo.py) gives ``docs:<name>`` tasks::

    import conjure
    from tasks import docs

    DOIT_CONFIG = conjure.config()
    docs_tasks = conjure.include(docs, prefix="docs")   # docs:api, docs:site, docs:check:links

``serial`` is Mage's ``mg.SerialDeps``: tasks that run one after another::

    def task_release():
        \"\"\"Clean, build, then package, one at a time.\"\"\"
        yield from conjure.serial(clean, build, package, basename="release")
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import Any

from doit.loader import flat_generator, task_params
from doit.tools import result_dep

from conjure.errors import ConfigError

__all__ = ["Included", "include", "serial"]

Task = dict[str, Any]
_NAME_LISTS = ("task_dep", "setup", "calc_dep")
"""Task keys that hold task names (``getargs`` and ``result_dep`` uptodates hold some too)."""


class Included:
    """A module's tasks under a prefix; doit's loader calls ``create_doit_tasks``.

    Attributes:
        module: the module the tasks come from.
        prefix: what their names start with (``docs`` gives ``docs:site``).
    """

    def __init__(self, module: ModuleType, prefix: str) -> None:
        self.module = module
        self.prefix = prefix

    def create_doit_tasks(self) -> Iterator[Task]:
        """The module's tasks, renamed, with the names they refer to renamed alike."""
        where = self.module.__name__
        tasks = [
            task for name, creator in _creators(self.module) for task in _made(name, creator, where)
        ]
        local = {task["basename"] for task in tasks}
        for task in tasks:
            yield _prefixed(task, self.prefix, local)


def include(module: ModuleType | str, prefix: str | None = None) -> Included:
    """Another module's tasks as ``PREFIX:NAME`` tasks (Mage's ``// mage:import PREFIX``).

    Assign the result to a name in the dodo.py (any name: doit finds it by its
    ``create_doit_tasks``). Inside the module, ``task_dep``, ``setup``, ``calc_dep``,
    ``getargs`` and ``result_dep`` names of its own tasks are renamed too, so ``"site"``
    there means ``docs:site``; names it does not define (tasks of the dodo.py) are kept.
    File dependencies need nothing: a ``file_dep`` finds the task whose target it is.
    The module's ``DOIT_CONFIG`` is ignored, and its creators are called with no
    arguments (``@task_params`` and ``@create_after`` are refused).

    Args:
        module: the module, or its dotted name (imported from ``sys.path``, where doit puts
            the dodo.py folder).
        prefix: the names' prefix; default: the module's last name (``tasks.docs``: ``docs``).

    Raises:
        ConfigError: the module is not found, or the prefix is empty or has a space (exit 2).
    """
    if isinstance(module, str):
        module = _import(module)
    chosen = module.__name__.rsplit(".", 1)[-1] if prefix is None else prefix
    if not chosen or chosen != "".join(chosen.split()):
        raise ConfigError(f"conjure.include: bad prefix {chosen!r} (a name without spaces)")
    return Included(module, chosen)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name and (name + ".").startswith(err.name + "."):
            raise ConfigError(f"conjure.include: no module named {err.name!r}") from None
        raise


def _creators(module: ModuleType) -> list[tuple[str, Callable[[], Any]]]:
    """The task creators in a module's namespace, by doit's rules (``loader.py``)."""
    found: list[tuple[str, Callable[[], Any]]] = []
    for name, ref in vars(module).items():
        if ref is task_params:
            continue
        if name.startswith("task_") and inspect.isfunction(ref):
            found.append((name[len("task_") :], ref))
        elif hasattr(ref, "create_doit_tasks"):
            creator = ref.create_doit_tasks
            found.append((getattr(creator, "basename", name), creator))
    return found


def _made(name: str, creator: Callable[[], Any], where: str) -> list[Task]:
    """What one creator makes, as dicts with an explicit ``basename`` (and ``doc``).

    doit's own rules: a returned dict is task ``name``; yielded dicts with a ``name`` are
    subtasks of ``basename`` (default ``name``), whose group gets the creator's docstring.
    """
    if hasattr(creator, "doit_create_after") or hasattr(creator, "_task_creator_params"):
        raise ConfigError(f"{where}: task_{name}: @create_after/@task_params cannot be included")
    made = creator()
    doc = creator.__doc__
    if made is None:
        return []
    if isinstance(made, dict):
        if "name" in made:
            raise ConfigError(f"{where}: task_{name} returns a dict with a name (subtasks yield)")
        return [{"doc": doc, **made, "basename": made.get("basename", name)}]
    if not inspect.isgenerator(made):
        raise ConfigError(f"{where}: task_{name} must return a task dict or yield task dicts")
    tasks: list[Task] = []
    groups: set[str] = set()
    for item, item_doc in flat_generator(made, doc):
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: task_{name} yields {type(item).__name__}, not a dict")
        tasks += _yielded(name, item, item_doc, groups, where)
    return tasks


def _yielded(name: str, item: Task, doc: str | None, groups: set[str], where: str) -> list[Task]:
    if "name" not in item:
        if not item.get("basename"):
            raise ConfigError(f"{where}: task_{name} yields a task without name or basename")
        return [{"doc": doc, **item}]
    basename = item.get("basename") or name
    task = {**item, "basename": basename}
    if task["name"] is None or basename in groups:
        groups.add(basename)
        return [task]
    groups.add(basename)  # doit would make the group itself, with the wrong docstring
    return [{"basename": basename, "name": None, "doc": doc}, task]


def _prefixed(task: Task, prefix: str, local: set[str]) -> Task:
    """The task under ``prefix``, its references to ``local`` tasks renamed."""

    def rename(reference: Any) -> Any:
        if isinstance(reference, str) and reference.split(":", 1)[0] in local:
            return f"{prefix}:{reference}"
        return reference

    renamed = {**task, "basename": f"{prefix}:{task['basename']}"}
    for key in _NAME_LISTS:
        if isinstance(task.get(key), (list, tuple)):
            renamed[key] = [rename(name) for name in task[key]]
    if isinstance(task.get("getargs"), Mapping):
        renamed["getargs"] = {
            arg: (rename(source[0]), *source[1:]) if isinstance(source, (tuple, list)) else source
            for arg, source in task["getargs"].items()
        }
    if isinstance(task.get("uptodate"), (list, tuple)):
        renamed["uptodate"] = [
            result_dep(rename(item.dep_name), item.setup_dep)
            if isinstance(item, result_dep)
            else item
            for item in task["uptodate"]
        ]
    return renamed


def serial(*tasks: Mapping[str, Any], basename: str | None = None) -> list[Task]:
    """Tasks that run one after another, in the order given (Mage's ``mg.SerialDeps``).

    Each task gets a ``task_dep`` on the one before it, so it starts only after that one
    succeeded, whatever ``-n`` says; tasks outside the chain still run in parallel with it.
    The order belongs to the tasks: running the last one alone runs the others first (each
    at most once per run, as every task).

    Args:
        *tasks: task dicts to yield from one ``task_*`` function: subtasks (a ``name``) or
            tasks with a ``basename``.
        basename: the basename of subtasks that have none (the function's name without
            ``task_``); their full names are needed for the ``task_dep``.

    Returns:
        Copies of the tasks, chained.

    Raises:
        ConfigError: a task whose full name is not known (exit 2).
    """
    chained: list[Task] = []
    previous: str | None = None
    for task in tasks:
        made = dict(task)
        if "name" in made and basename and not made.get("basename"):
            made["basename"] = basename
        if previous is not None:
            made["task_dep"] = [*made.get("task_dep", ()), previous]
        previous = _full_name(made)
        chained.append(made)
    return chained


def _full_name(task: Task) -> str:
    name, base = task.get("name"), task.get("basename")
    if "name" in task and name is not None and base:
        return f"{base}:{name}"
    if "name" not in task and base:
        return str(base)
    shown = name or base or task.get("doc") or "a task"
    raise ConfigError(f"conjure.serial: {shown!r} needs a name and a basename (pass basename=)")
