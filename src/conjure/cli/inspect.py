"""Commands that look at tasks without running them: list, info, explain, graph, forget, clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from doit.task import Task

from conjure.cli.commands import select
from conjure.cli.session import Session, attach_tasks, open_session
from conjure.engine.events import UP_TO_DATE, TaskResult
from conjure.engine.graph import export
from conjure.engine.plan import explain
from conjure.engine.status import Check
from conjure.errors import EXIT_OK, ConfigError, GraphError


def _session(config: dict[str, Any], tasks: list[Task]) -> Session:
    session = open_session(config, {})
    try:
        attach_tasks(session, tasks)
    except BaseException:
        session.close()
        raise
    return session


def _explained(session: Session, names: list[str]) -> dict[str, TaskResult]:
    assert session.graph is not None
    return {
        r.name: r for r in explain(session.works, session.graph.closure(names), session.checker())
    }


def list_tasks(command: Any, params: Any, tasks: list[Task], config: dict[str, Any]) -> int:
    """doit's ``list``, with ``--status`` from conjure's state (R: would run, U: up to date)."""
    session = _session(config, tasks)
    try:
        statuses: dict[str, str] = {}
        if params.get("status"):
            assert session.graph is not None
            results = _explained(session, list(session.graph.order))
            statuses = {n: "U" if r.status == UP_TO_DATE else "R" for n, r in results.items()}
        chosen = None if command.sel_default_tasks else command.sel_tasks
        _print_list(params, tasks, statuses, chosen)
        return EXIT_OK
    finally:
        session.close()


def _print_list(params: Any, tasks: list[Task], statuses: dict[str, str], selection: Any) -> None:
    by_name = {t.name: t for t in tasks}
    chosen = [by_name[n] for n in selection if n in by_name] if selection else tasks
    shown = [
        t
        for t in chosen
        if (params.get("subtasks") or t.subtask_of is None)
        and (params.get("private") or not t.name.startswith("_"))
    ]
    width = max((len(t.name) for t in shown), default=0)
    for task in sorted(shown, key=lambda t: t.name):
        prefix = f"{statuses.get(task.name, '?')} " if statuses else ""
        doc = "" if params.get("quiet") or not task.doc else f"   {first_sentence(task)}"
        sys.stdout.write(f"{prefix}{task.name:<{width}}{doc}".rstrip() + "\n")


def info(
    command: Any, params: Any, args: list[str], tasks: list[Task], config: dict[str, Any]
) -> int:
    """``doit info TASK``: the task's definition and why it would run."""
    if len(args) != 1:
        raise ConfigError("`doit info` takes exactly one task name")
    by_name = {t.name: t for t in tasks}
    if args[0] not in by_name:
        raise ConfigError(f"{args[0]!r} is not a task")
    session = _session(config, tasks)
    try:
        task = by_name[args[0]]
        work = session.works[task.name]
        lines = [f"{task.name}", ""]
        if task.doc:
            lines += [task.doc, ""]
        for label, values in (
            ("file_dep", sorted(work.spec.file_deps)),
            ("task_dep", list(task.task_dep)),
            ("targets", list(work.spec.targets)),
        ):
            if values:
                lines.append(f"{label}:")
                lines += [f"  - {v}" for v in values]
        result = _explained(session, [task.name])[task.name]
        lines.append("")
        lines += _status_lines(result, session)
        sys.stdout.write("\n".join(lines) + "\n")
        return EXIT_OK
    finally:
        session.close()


def first_sentence(task: Task) -> str:
    """The first sentence of a task's docstring (``doit list``), as Mage shows it."""
    creator_doc = " ".join((task.doc or "").split())
    for end in (". ", "! ", "? "):
        if end in creator_doc:
            return creator_doc.split(end, 1)[0] + end.strip()
    return creator_doc


def _status_lines(result: TaskResult, session: Session) -> list[str]:
    record = session.records.get(result.name)
    if result.status == UP_TO_DATE:
        assert record is not None
        return [f"status: up to date (last run took {record.duration:.2f}s)"]
    lines = ["status: would run, because:"]
    for reason in result.reasons:
        line = f"  - {reason.message}"
        if reason.old or reason.new:
            line += f" [{_short(reason.old)} -> {_short(reason.new)}]"
        lines.append(line)
    return lines


def _short(value: str | None) -> str:
    if value is None:
        return "none"
    return value[:12] if len(value) == 64 and value.isalnum() else value


def explain_tasks(command: Any, params: Any, tasks: list[Task], config: dict[str, Any]) -> int:
    """``doit explain [TASK...]``: every task that would run, and all its reasons."""
    session = _session(config, tasks)
    try:
        assert session.graph is not None
        names = session.graph.closure(select(tasks, command.sel_tasks))
        checks: dict[str, Check] = {}
        results = explain(session.works, names, session.checker(), checks=checks)
        hidden = {n for n, w in session.works.items() if not w.has_actions}
        keys = _KeyExplainer(session, checks)
        out = []
        for result in results:
            if result.name in hidden or result.status == UP_TO_DATE:
                keys.known(result.name)
                continue
            out.append(result.name)
            out += _status_lines(result, session)[1:]
            out += keys.lines(result.name)
        fresh = sum(1 for r in results if r.status == UP_TO_DATE and r.name not in hidden)
        would = sum(1 for r in results if r.status != UP_TO_DATE and r.name not in hidden)
        out.append(f"{would} would run, {fresh} up to date")
        sys.stdout.write("\n".join(out) + "\n")
        return EXIT_OK
    finally:
        session.close()


class _KeyExplainer:
    """Task keys for ``doit explain``: the key, a hit or a miss, and what changed since the
    last stored entry of the task."""

    def __init__(self, session: Session, checks: dict[str, Check]) -> None:
        self.session = session
        self.checks = checks
        self.cache = session.output_cache()
        self.keys: dict[str, str | None] = {}

    def known(self, name: str) -> None:
        record = self.session.records.get(name)
        self.keys[name] = record.key if record else None

    def lines(self, name: str) -> list[str]:
        if self.cache is None:
            return []
        work = self.session.works[name]
        check = self.checks[name]
        assert self.session.graph is not None
        deps = {d: self.keys.get(d) for d in self.session.graph.deps[name]}
        unknown = sorted(d for d, k in deps.items() if k is None)
        pending = [r.path for r in check.reasons if r.kind == "upstream"]
        if unknown or pending:
            self.keys[name] = None
            why = f"task {unknown[0]!r}" if unknown else f"the task that makes {pending[0]}"
            return [f"  cache key: known once {why} has run"]
        key, parts = self.cache.key(work, check, {d: k for d, k in deps.items() if k})
        self.keys[name] = key
        lines = [f"  cache key: {key[:16]} ({self._where(key, work.cacheable)})"]
        last = self.session.state.last_key(name)
        if last is not None and last[0] != key:
            from conjure.engine.cache.key import differing_parts

            changed = ", ".join(differing_parts(last[1], parts)) or "none"
            lines.append(
                f"  key parts changed since the last stored entry {last[0][:16]}: {changed}"
            )
        lines.append(
            "  key parts: " + ", ".join(f"{k}={_part(v)}" for k, v in sorted(parts.items()))
        )
        return lines

    def _where(self, key: str, cacheable: bool) -> str:
        assert self.cache is not None
        if not cacheable:
            return "not cached: no targets, no inputs, or cache: False"
        if self.cache.local.manifest_path(key).exists():
            return "hit: in the local cache"
        return "miss: not in the local cache"


def _part(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_part(v)}" for k, v in sorted(value.items())) + "}"
    text = str(value)
    return text[:12] if len(text) == 64 else text


def graph(command: Any, params: Any, tasks: list[Task], config: dict[str, Any]) -> int:
    """``doit graph [TASK...] [--format F] [-o FILE]``."""
    session = _session(config, tasks)
    try:
        assert session.graph is not None
        names = (
            session.graph.closure(select(tasks, command.sel_tasks))
            if command.sel_tasks and not command.sel_default_tasks
            else session.graph.order
        )
        labels = {t.name: t.doc or "" for t in tasks}
        target = params.get("output") or ""
        fmt = "dot" if target.endswith(".svg") else params.get("format", "dot")
        text = export(session.graph, names, fmt, labels)
        if target.endswith(".svg"):
            _render_svg(text, Path(target))
        elif target:
            Path(target).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return EXIT_OK
    finally:
        session.close()


def _render_svg(dot_text: str, target: Path) -> None:
    dot = shutil.which("dot")
    if dot is None:
        raise ConfigError(
            "rendering SVG needs Graphviz's `dot` (apt-get install graphviz); "
            "or use --format dot / mermaid / json"
        )
    done = subprocess.run(
        [dot, "-Tsvg", "-o", str(target)], input=dot_text.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise GraphError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")


def forget(
    command: Any, params: Any, args: list[str], tasks: list[Task], config: dict[str, Any]
) -> int:
    """``doit forget [TASK...]``: the tasks (and their subtasks) run again next time."""
    session = open_session(config, {})
    try:
        if params.get("forget_all") or not command.sel_tasks:
            session.state.remove_all()
            sys.stdout.write("forgetting all tasks\n")
            return EXIT_OK
        by_name = {t.name: t for t in tasks}
        names = []
        for name in command.sel_tasks:
            if name not in by_name:
                raise ConfigError(f"{name!r} is not a task")
            names.append(name)
            names += [t for t in by_name[name].task_dep if by_name[t].subtask_of == name]
        session.state.remove(names)
        for name in names:
            sys.stdout.write(f"forgetting {name}\n")
        return EXIT_OK
    finally:
        session.close()


def clean(
    command: Any, params: Any, args: list[str], tasks: list[Task], config: dict[str, Any]
) -> int:
    """doit's ``clean`` (targets or clean actions), then forgets the cleaned tasks' records."""
    by_name = {t.name: t for t in tasks}
    names = select(tasks, command.sel_tasks) if command.sel_tasks else [t.name for t in tasks]
    dryrun = bool(params.get("dryrun"))
    for name in reversed(names):
        by_name[name].clean(sys.stdout, dryrun)
    if not dryrun:
        session = open_session(config, {})
        try:
            session.state.remove(names)
        finally:
            session.close()
    return EXIT_OK
