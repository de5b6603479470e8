"""Where the engine keeps things inside the cache folder (``cache/`` by default)."""

STATE_FILE = "state.sqlite"
"""The state database."""

SNAPSHOT_FILE = "noop.snapshot"
"""The no-op snapshot (see ``conjure.cli.noop``), next to the state database."""

RUNS_DIR = "runs"
"""Run records, one JSON file per run."""
