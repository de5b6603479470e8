import os
import socket
from importlib.metadata import version

import app


def test_greeting() -> None:
    assert app.GREETING == "hello"
    assert version("iniconfig") == "2.0.0"


def test_database_answers() -> None:
    # the db service of compose.dev.yml, reachable by name from the test-runner
    host = os.environ.get("DATABASE_HOST", "db")
    with socket.create_connection((host, 5432), timeout=5):
        pass
