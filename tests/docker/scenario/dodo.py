"""The scenario's own tasks, run inside the test-runner image with plain doit."""

DOIT_CONFIG = {"default_tasks": ["test-all"], "dep_file": "/tmp/scenario-doit.db"}


def task_test_go():
    return {"basename": "test-go", "actions": ["go test ./..."], "verbosity": 2}


def task_test_py():
    return {
        "basename": "test-py",
        "actions": ["python -m pytest -q -p no:cacheprovider tests"],
        "verbosity": 2,
    }


def task_test_all():
    return {"basename": "test-all", "actions": None, "task_dep": ["test-go", "test-py"]}
