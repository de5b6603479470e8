"""A task's definition (command, Python code and arguments, env, params) makes it stale."""

from __future__ import annotations

from tests.conftest import Project


def _runs(project: Project) -> int:
    result = project.doit()
    assert result.returncode == 0, result.stdout + result.stderr
    return len(project.log_lines())


def test_command_text_change_reruns(project: Project) -> None:
    project.write("in.txt", "a")
    project.dodo(
        'def task_t():\n    return {"actions": ["echo one >> log.txt"], "file_dep": ["in.txt"]}\n'
    )
    assert _runs(project) == 1
    assert _runs(project) == 1
    project.dodo(
        'def task_t():\n    return {"actions": ["echo two >> log.txt"], "file_dep": ["in.txt"]}\n'
    )
    assert _runs(project) == 2


def test_python_action_code_change_reruns_but_a_comment_does_not(project: Project) -> None:
    project.write("in.txt", "a")
    body = """
        def act(n):
            {comment}
            with open("log.txt", "a") as log:
                log.write("x" * {value} + "\\n")

        def task_t():
            return {{"actions": [(act, [1])], "file_dep": ["in.txt"]}}
    """
    project.dodo(body.format(comment="", value=1))
    assert _runs(project) == 1
    project.dodo(body.format(comment="# a comment only", value=1))
    assert _runs(project) == 1
    project.dodo(body.format(comment="", value=2))
    assert _runs(project) == 2


def test_python_action_argument_change_reruns(project: Project) -> None:
    project.write("in.txt", "a")
    body = """
        def act(n):
            with open("log.txt", "a") as log:
                log.write(str(n) + "\\n")

        def task_t():
            return {{"actions": [(act, [{arg}])], "file_dep": ["in.txt"]}}
    """
    project.dodo(body.format(arg=1))
    assert _runs(project) == 1
    project.dodo(body.format(arg=2))
    assert _runs(project) == 2
    assert project.log_lines() == ["1", "2"]


def test_declared_env_var_change_reruns(project: Project) -> None:
    project.write("in.txt", "a")
    project.dodo(
        "def task_t():\n"
        '    return {"actions": ["echo $GOOS >> log.txt"], "file_dep": ["in.txt"], "env": ["GOOS"]}\n'
    )
    assert project.doit(GOOS="linux").returncode == 0
    assert project.doit(GOOS="linux").returncode == 0
    assert project.doit(GOOS="darwin").returncode == 0
    assert project.log_lines() == ["linux", "darwin"]
    explained = project.doit("explain", GOOS="windows")
    assert "definition changed: env" in explained.stdout


def test_env_values_set_for_commands(project: Project) -> None:
    project.write("in.txt", "a")
    project.dodo(
        "def task_t():\n"
        '    return {"actions": ["echo $MODE >> log.txt"], "file_dep": ["in.txt"],'
        ' "env": {"MODE": "fast"}}\n'
    )
    assert project.doit().returncode == 0
    assert project.log_lines() == ["fast"]


def test_param_change_reruns(project: Project) -> None:
    project.write("in.txt", "a")
    project.dodo(
        """
        def task_t():
            return {"actions": ["echo %(level)s >> log.txt"], "file_dep": ["in.txt"],
                    "params": [{"name": "level", "long": "level", "default": "low"}]}
        """
    )
    assert project.doit("t").returncode == 0
    assert project.doit("t").returncode == 0
    assert project.doit("t", "--level", "high").returncode == 0
    assert project.log_lines() == ["low", "high"]


def test_uptodate_and_config_changed_still_work(project: Project) -> None:
    project.dodo(
        """
        from doit.tools import config_changed
        def task_t():
            return {"actions": ["echo t >> log.txt"], "uptodate": [config_changed({"v": VALUE})]}
        VALUE = 1
        """
    )
    assert project.doit().returncode == 0
    assert project.doit().returncode == 0
    assert project.log_lines() == ["t"]
