"""Python add-on for the polyglot render farm.

The public surface is re-exported here; the modules behind it are private.

- Frame ranges: `parse_frames`, `format_frames`, `FrameRange`, `parse_ranges`.
- Job specs: `JobSpec`, `SpecError`, `specs_for`.
- The server's API: `FarmClient`, `Job`, `FarmError`.
- A local record of jobs: `JobArchive`.
"""

from polyglot_addon._archive import JobArchive
from polyglot_addon._client import FarmClient, FarmError, Job
from polyglot_addon._frames import FrameRange, format_frames, parse_frames, parse_ranges
from polyglot_addon._spec import MAX_FRAMES, MAX_PRIORITY, JobSpec, SpecError, specs_for

__all__ = [
    "MAX_FRAMES",
    "MAX_PRIORITY",
    "FarmClient",
    "FarmError",
    "FrameRange",
    "Job",
    "JobArchive",
    "JobSpec",
    "SpecError",
    "format_frames",
    "parse_frames",
    "parse_ranges",
    "specs_for",
]
