"""conjure.include (Mage's ``mage:import`` under a prefix) and conjure.serial (``SerialDeps``),
each through the real doit CLI on a real dodo.py."""

from __future__ import annotations

from types import ModuleType

from conjure import include
from tests.conftest import Project
from tests.library.conftest import last_run

DOCS_MODULE = '''
"""Documentation tasks, written as if this were the dodo.py."""

from doit.tools import result_dep


def task_api():
    """Extract the API description."""
    return {
        "actions": ["cp src.txt api.json", "echo docs:api >> log.txt"],
        "file_dep": ["src.txt"],
        "targets": ["api.json"],
    }


def task_check():
    """Check the docs."""
    yield {"name": "links", "actions": ["echo docs:check:links >> log.txt"]}


def task_site():
    """Build the site from the API description. Needs the checks."""
    return {
        "actions": ["cp api.json site.html", "echo docs:site >> log.txt"],
        "file_dep": ["api.json"],
        "targets": ["site.html"],
        "task_dep": ["check"],
    }


def task_version():
    def version():
        return {"version": "1.2"}
    return {"actions": [version]}


def task_publish():
    """Publish the site with the version."""
    def publish(version):
        open("log.txt", "a").write(f"docs:publish-{version}\\n")
    return {
        "actions": [publish],
        "getargs": {"version": ("version", "version")},
        "uptodate": [result_dep("version")],
        "task_dep": ["site", "check:links"],
    }
'''

DODO = """
import conjure
from tasks import docs

DOIT_CONFIG = conjure.config()
docs_tasks = conjure.include(docs, prefix="docs")


def task_check():
    \"\"\"The repository's own check (same name as one in tasks/docs.py).\"\"\"
    return {"actions": ["echo check >> log.txt"]}


def task_all():
    \"\"\"Everything.\"\"\"
    return {"actions": None, "task_dep": ["docs:publish", "check"]}
"""


def _docs_project(project: Project) -> None:
    project.write("tasks/__init__.py", "")
    project.write("tasks/docs.py", DOCS_MODULE)
    project.write("src.txt", "the api\n")
    project.write("dodo.py", DODO)


def test_included_tasks_are_listed_under_the_prefix(project: Project) -> None:
    _docs_project(project)
    r = project.doit("list")
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()]
    included = ["docs:api", "docs:check", "docs:publish", "docs:site", "docs:version"]
    assert names == ["all", "check", *included]
    assert "docs:site      Build the site from the API description.\n" in r.stdout
    assert "docs:check     Check the docs.\n" in r.stdout  # the creator's docstring
    r = project.doit("list", "--all")
    assert "docs:check:links" in r.stdout.split()


def test_references_inside_the_module_are_renamed(project: Project) -> None:
    _docs_project(project)
    r = project.doit("-n", "2", "docs:site")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = project.log_lines()
    assert sorted(lines) == ["docs:api", "docs:check:links", "docs:site"]  # not the dodo's check
    assert lines.index("docs:api") < lines.index("docs:site")  # found by its target api.json
    assert (project.root / "site.html").read_text() == "the api\n"

    r = project.doit("all")
    assert r.returncode == 0, r.stdout + r.stderr
    ran, up_to_date = last_run(project)
    assert {"docs:api", "docs:site"} <= up_to_date
    assert {"check", "docs:version", "docs:publish", "docs:check:links"} <= ran
    assert project.log_lines()[3:].count("check") == 1
    assert "docs:publish-1.2" in project.log_lines()  # getargs from docs:version


def test_a_missing_module_is_one_line_and_exit_2(project: Project) -> None:
    project.dodo("docs = conjure.include('tasks.nosuch')\n")
    r = project.doit("list")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [
        "conjure: error: conjure.include: no module named 'tasks'"
    ]
    project.write("tasks/__init__.py", "")
    project.write("tasks/params.py", PARAMS_MODULE)
    project.dodo("params = conjure.include('tasks.params')\n")  # the prefix: params
    r = project.doit("list")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [
        "conjure: error: tasks.params: task_greet: @create_after/@task_params cannot be included"
    ]
    assert include(ModuleType("tasks.docs")).prefix == "docs"


PARAMS_MODULE = """
from doit import task_params

@task_params([{"name": "who", "default": "world"}])
def task_greet(who):
    return {"actions": [f"echo {who}"]}
"""


STAMP = """\
import sys, time
label, seconds = sys.argv[1], float(sys.argv[2])
with open("times.txt", "a") as out:
    out.write(f"{label} start {time.time()}\\n")
time.sleep(seconds)
with open("times.txt", "a") as out:
    out.write(f"{label} end {time.time()}\\n")
"""

SERIAL_DODO = """
import sys
import conjure

def stamp(label, seconds=0.3):
    return [f"{sys.executable} stamp.py {label} {seconds}"]

def task_release():
    \"\"\"Clean, build, then package: one at a time.\"\"\"
    yield from conjure.serial(
        {"name": "clean", "actions": stamp("clean")},
        {"name": "build", "actions": stamp("build")},
        {"name": "package", "actions": stamp("package")},
        basename="release",
    )

def task_lint():
    \"\"\"Independent of the release chain.\"\"\"
    return {"actions": stamp("lint", 0.6)}
"""


def _intervals(project: Project) -> dict[str, tuple[float, float]]:
    seen: dict[str, dict[str, float]] = {}
    for line in (project.root / "times.txt").read_text().splitlines():
        label, edge, when = line.split()
        assert edge not in seen.setdefault(label, {}), f"{label} ran twice"
        seen[label][edge] = float(when)
    return {label: (edges["start"], edges["end"]) for label, edges in seen.items()}


def test_serial_tasks_run_in_order_while_others_run_in_parallel(project: Project) -> None:
    project.write("stamp.py", STAMP)
    project.dodo(SERIAL_DODO)
    r = project.doit("-n", "4", "release", "lint")
    assert r.returncode == 0, r.stdout + r.stderr
    times = _intervals(project)
    assert set(times) == {"clean", "build", "package", "lint"}
    assert times["clean"][1] <= times["build"][0]
    assert times["build"][1] <= times["package"][0]
    assert times["lint"][0] < times["clean"][1]  # lint did not wait for the chain

    (project.root / "times.txt").unlink()
    r = project.doit("-n", "4", "release:package")  # the order belongs to the tasks
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(_intervals(project)) == {"clean", "build", "package"}


def test_serial_needs_full_names(project: Project) -> None:
    project.dodo(
        """
        def task_release():
            yield from conjure.serial({"name": "a", "actions": None}, {"name": "b", "actions": None})
        """
    )
    r = project.doit("list")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip() == (
        "conjure: error: conjure.serial: 'a' needs a name and a basename (pass basename=)"
    )
