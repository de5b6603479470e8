"""Up-to-date decisions, each with the reasons a person can read.

The order is cheapest first, and a no-op run reads only what it must: the recorded
definition digest, the stat of each dependency and target, one digest over the dependencies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from conjure.engine.events import Reason
from conjure.engine.files import MISSING, FileIndex
from conjure.engine.hashing import Digester
from conjure.engine.model import Work
from conjure.engine.state import TaskRecord
from conjure.errors import GraphError


@dataclass
class Check:
    """The result of checking one task.

    Attributes:
        reasons: why it must run; empty when up to date.
        deps: current digests of its file dependencies.
        inputs: digest over ``deps``, as stored in the state.
        definition: digest of its current definition.
        work: the task checked (its definition JSON is built only when needed).
    """

    work: Work
    reasons: list[Reason] = field(default_factory=list)
    deps: dict[str, str] = field(default_factory=dict)
    inputs: str = ""
    definition: str = ""

    @property
    def parts(self) -> str:
        """The current definition as canonical JSON."""
        return self.work.definition_json()

    @property
    def stale(self) -> bool:
        """Whether the task must run."""
        return bool(self.reasons)

    @property
    def changed_files(self) -> list[str]:
        """The dependencies that changed (doit's ``changed`` argument)."""
        kinds = ("file-changed", "file-added")
        paths = [r.path for r in self.reasons if r.kind in kinds and r.path]
        if any(r.kind in ("never-ran", "forced", "definition") for r in self.reasons):
            return sorted(self.deps)
        return paths


class StatusChecker:
    """Decides whether tasks are up to date.

    Args:
        files: file digests for this run.
        records: the last successful run of each task.
        digester: the hash in use.
        producers: which task creates each target path.
    """

    def __init__(
        self,
        files: FileIndex,
        records: dict[str, TaskRecord],
        digester: Digester,
        producers: dict[str, str],
    ) -> None:
        self.files = files
        self.records = records
        self.digester = digester
        self.producers = producers

    def check(
        self,
        work: Work,
        *,
        full: bool = False,
        forced: bool = False,
        pending: Mapping[str, str] | None = None,
    ) -> Check:
        """Checks one task whose dependencies have all finished (or, dry, would have).

        Args:
            work: the task.
            full: collect every reason (explain, dry run) instead of stopping at the first.
            forced: the user asked to run it regardless (``--always``).
            pending: for a dry run, paths that a task which would run creates, with that
                task's name; they are not read (they may not exist yet).

        Raises:
            GraphError: a file dependency does not exist and no task creates it.
        """
        result = Check(work)
        result.definition = work.definition_digest()
        if pending:
            result.reasons.extend(_upstream(work, pending))
        result.deps, result.inputs = self._dependency_digests(work, pending or {})
        record = self.records.get(work.name)
        if forced:
            result.reasons.append(Reason("forced", "asked to run regardless (--always)"))
        # evaluated every time, as doit does: helpers such as config_changed save values
        uptodate = work.uptodate_reasons(record)
        if record is None:
            result.reasons.append(Reason("never-ran", "no record of a successful run"))
            return result
        self._check_definition(result, record)
        result.reasons.extend(uptodate)
        if work.always_runs:
            result.reasons.append(Reason("always", "no file_dep and no uptodate: always runs"))
        if result.reasons and not full:
            return result
        self._check_targets(result, work, record, full)
        if result.inputs != record.inputs and not (pending and result.reasons):
            result.reasons.extend(self._file_reasons(result.deps, record))
        return result

    def _dependency_digests(
        self, work: Work, pending: Mapping[str, str]
    ) -> tuple[dict[str, str], str]:
        digests = {}
        for key in sorted(work.spec.file_deps):
            if key in pending:
                continue
            digest = self.files.digest(key)
            if digest == MISSING:
                raise GraphError(self.missing_message(work.name, key))
            digests[key] = digest
        text = "\n".join(f"{key}\0{digest}" for key, digest in digests.items())
        return digests, self.digester.of_text(text)

    def missing_message(self, name: str, key: str) -> str:
        """The one-line error for a missing file dependency."""
        producer = self.producers.get(key)
        if producer is not None:
            return f"task {name!r} needs {key!r}, which task {producer!r} did not create"
        return f"task {name!r} needs {key!r}, which does not exist and no task creates it"

    def _check_definition(self, result: Check, record: TaskRecord) -> None:
        if result.definition == record.definition:
            return
        old = record.definition_parts()
        new = json.loads(result.parts)
        names = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k)) or ["actions"]
        for name in names:
            result.reasons.append(
                Reason(
                    "definition",
                    f"definition changed: {name}",
                    old=_short_json(old.get(name)),
                    new=_short_json(new.get(name)),
                )
            )

    def _check_targets(self, result: Check, work: Work, record: TaskRecord, full: bool) -> None:
        recorded = record.target_digests() if work.spec.targets else {}
        for key in work.spec.targets:
            digest = self.files.digest(key)
            if digest == MISSING:
                result.reasons.append(
                    Reason("target-missing", f"target {key} is missing", path=key)
                )
            elif key in recorded and recorded[key] != digest:
                result.reasons.append(
                    Reason(
                        "target-changed",
                        f"target {key} changed since the task created it",
                        path=key,
                        old=recorded[key],
                        new=digest,
                    )
                )
            else:
                continue
            if not full:
                return

    def _file_reasons(self, deps: dict[str, str], record: TaskRecord) -> list[Reason]:
        old = record.dep_digests()
        reasons = []
        for key, digest in deps.items():
            before = old.get(key)
            if before is None:
                reasons.append(Reason("file-added", f"new dependency {key}", path=key, new=digest))
            elif before != digest:
                reasons.append(
                    Reason("file-changed", f"{key} changed", path=key, old=before, new=digest)
                )
        for key in sorted(set(old) - set(deps)):
            reasons.append(Reason("file-removed", f"no longer depends on {key}", path=key))
        return reasons or [Reason("file-changed", "file dependencies changed")]


def _upstream(work: Work, pending: Mapping[str, str]) -> list[Reason]:
    return [
        Reason("upstream", f"{pending[key]} would re-run and creates {key}", path=key)
        for key in sorted(work.spec.file_deps)
        if key in pending
    ]


def _short_json(value: object) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."
