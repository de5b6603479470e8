"""The output cache as the scheduler uses it: keys, lookups, restores and saves.

A stale task that is cacheable (it declares targets, has file dependencies or ``uptodate``
items, and did not opt out with ``cache: False``) is first looked up by its key: in the local
store, then (on a local miss) in the remote cache. A hit restores its outputs and replays its
log; a miss runs it for real and stores its outputs afterwards. Lookups, restores and saves
run on the task's worker thread; keys are computed on the scheduler's thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conjure.engine.cache.key import ToolVersions, key_parts, task_key
from conjure.engine.cache.remote import RemoteCache
from conjure.engine.cache.store import CacheMiss, LocalCache, Manifest
from conjure.engine.hashing import Digester

if TYPE_CHECKING:
    from conjure.engine.model import Work
    from conjure.engine.status import Check


@dataclass
class Hit:
    """A restored entry.

    Attributes:
        manifest: the entry.
        log: the replayed output.
        source: ``local`` or ``remote``.
        written: paths that were put back, each with the (size, mtime_ns, inode) of the
            verified file now there (None for a symlink).
    """

    manifest: Manifest
    log: str
    source: str
    written: dict[str, tuple[int, int, int] | None]


@dataclass
class CacheStats:
    """What the cache did in one run."""

    hits: int = 0
    remote_hits: int = 0
    misses: int = 0
    stored: int = 0


class OutputCache:
    """Local store plus optional remote, for one run.

    Args:
        local: the local store.
        tools: toolchain versions.
        digester: the hash in use (keys and blobs).
        remote: the remote cache, or None.
    """

    def __init__(
        self,
        local: LocalCache,
        tools: ToolVersions,
        digester: Digester,
        remote: RemoteCache | None = None,
    ) -> None:
        self.local = local
        self.tools = tools
        self.digester = digester
        self.remote = remote
        self.stats = CacheStats()

    def key(self, work: Work, check: Check, deps: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
        """A checked task's key and its parts, given its dependencies' keys."""
        versions = {tool: self.tools.version(tool) for tool in work.tools()}
        parts = key_parts(
            definition=check.definition,
            inputs=check.inputs,
            deps=deps,
            tools=versions,
            uses_python=work.uses_python,
        )
        return task_key(parts, self.digester), parts

    def restore(self, key: str, notes: list[str]) -> Hit | None:
        """Restores the entry of a key, local first, then remote; None on a miss.

        A damaged entry is a miss: it is set aside, ``notes`` says what happened, and the
        task runs for real.
        """
        source = "local"
        try:
            manifest = self.local.lookup(key)
            if manifest is None and self.remote is not None:
                manifest = self._download(key)
                source = "remote"
            if manifest is None:
                self.stats.misses += 1
                return None
            written = self.local.restore(manifest)
            log = ""
            if manifest.log:
                log = self.local.read_blob(manifest.log).decode("utf-8", "replace")
        except CacheMiss as miss:
            if miss.note:
                notes.append(miss.note)
            self.stats.misses += 1
            return None
        except OSError as err:
            notes.append(f"cache entry {key[:12]} could not be restored: {err}")
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        if source == "remote":
            self.stats.remote_hits += 1
        return Hit(manifest, log, source, written)

    def _download(self, key: str) -> Manifest | None:
        """Fetches a manifest and its blobs from the remote into the local store."""
        assert self.remote is not None
        data = self.remote.get_manifest(key)
        if data is None:
            return None
        manifest = Manifest.from_json(data)
        if manifest.key != key or manifest.algorithm != self.digester.algorithm:
            return None
        for digest in sorted(manifest.blobs()):
            if self.local.has_blob(digest):
                continue
            tmp = self.local.tmp_file()
            try:
                if not self.remote.fetch_blob(digest, tmp):
                    return None
                self.local.adopt_blob(tmp, digest)
            finally:
                tmp.unlink(missing_ok=True)
        self.local.write_manifest(manifest)
        return manifest

    def save(
        self,
        *,
        name: str,
        key: str,
        parts: dict[str, Any],
        targets: list[str],
        output: str,
        duration: float,
        values: dict[str, Any],
        result: str | None,
    ) -> Manifest:
        """Stores a successful run's outputs and log (and uploads them when allowed).

        Raises:
            OSError: a target cannot be read or the cache cannot be written.
        """
        entries = self.local.snapshot(targets)
        log = self.local.put_bytes(output.encode("utf-8", "surrogateescape")) if output else ""
        manifest = Manifest(
            key=key,
            task=name,
            targets=list(targets),
            entries=entries,
            log=log,
            duration=round(duration, 6),
            values=values,
            result=result,
            parts=parts,
            algorithm=self.digester.algorithm,
        )
        self.local.write_manifest(manifest)
        self.stats.stored += 1
        if self.remote is not None and self.remote.write:
            self._upload(manifest)
        return manifest

    def _upload(self, manifest: Manifest) -> None:
        assert self.remote is not None
        for digest in sorted(manifest.blobs()):
            if not self.remote.available:
                return
            self.remote.put_blob(digest, self.local.blob_path(digest))
        if self.remote.available:
            self.remote.put_manifest(manifest.key, manifest.to_json().encode())

    def finish(self, max_bytes: int) -> list[str]:
        """Saves remembered tool versions, keeps the cache under its size limit (least
        recently used entries go first); returns the run's warnings (once each)."""
        self.tools.save()
        warnings = []
        if self.stats.stored:
            from conjure.engine.cache.maintenance import human, prune, stale_over

            if stale_over(self.local, max_bytes):
                pruned = prune(self.local, max_bytes)
                warnings.append(
                    f"the output cache was over its {human(max_bytes)} limit: removed "
                    f"{pruned.entries} least recently used entries ({human(pruned.freed)})"
                )
        if self.remote is not None and self.remote.warning:
            warnings.append(self.remote.warning)
        return warnings
