"""Parsers and merged reports, fed by real ``go test -json`` and real pytest runs."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conjure.errors import ConfigError
from conjure.testing import merge_go_profiles, merged_junit, parse_go_json, parse_pytest_junit
from conjure.testing._coverage import go_percent
from conjure.testing._durations import read_durations, record_durations
from conjure.testing._junit import node_id
from conjure.testing._model import FAILED, FLAKY, PASSED, SKIPPED, SuiteResult, TestCase
from conjure.testing._runner import pytest_options
from tests.orchestration.conftest import GO_TESTS, needs_go

GO_FAILING = """package g

import "testing"

func TestBroken(t *testing.T) {
\tt.Log("about to fail")
\tt.Run("inner", func(t *testing.T) { t.Fatal("inner broke") })
}
"""


def _go_module(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "go.mod").write_text("module example.com/g\n\ngo 1.22\n")
    (tmp_path / "g_test.go").write_text(GO_TESTS)
    if extra:
        (tmp_path / "more_test.go").write_text(extra)
    return tmp_path


@needs_go
def test_go_json_gives_top_level_tests_with_outcomes(tmp_path: Path) -> None:
    module = _go_module(tmp_path, GO_FAILING)
    done = subprocess.run(
        ["go", "test", "-json", "./..."], cwd=module, capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    cases = {c.name: c for c in parse_go_json(done.stdout.splitlines())}
    assert set(cases) == {"TestFast", "TestSlow", "TestSub", "TestSkipped", "TestBroken"}
    assert cases["TestSlow"].outcome == PASSED and cases["TestSlow"].duration >= 0.2
    assert cases["TestSkipped"].outcome == SKIPPED and "later" in cases["TestSkipped"].message
    broken = cases["TestBroken"]
    assert broken.outcome == FAILED
    assert "inner broke" in broken.output and "about to fail" in broken.output
    assert broken.group == "example.com/g" and broken.ident == "example.com/g::TestBroken"


@needs_go
def test_go_build_failure_is_one_failing_package_case(tmp_path: Path) -> None:
    module = _go_module(tmp_path, "package g\n\nfunc broken( {\n")
    done = subprocess.run(
        ["go", "test", "-json", "./..."], cwd=module, capture_output=True, text=True, check=False
    )
    cases = parse_go_json(done.stdout.splitlines())
    assert [(c.name, c.outcome) for c in cases] == [("[package]", FAILED)]
    assert "more_test.go" in cases[0].output + cases[0].message


PYTEST_FILE = """
import pytest

def test_ok():
    pass

class TestGroup:
    @pytest.mark.parametrize("x", ["a", "b"])
    def test_param(self, x):
        print("captured", x)
        assert x == "a"

def test_skip():
    pytest.skip("no reason")
"""


def test_pytest_junit_gives_node_ids_and_output(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(PYTEST_FILE)
    xml = tmp_path / "out.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            *pytest_options(xml),  # the flags the runner uses, so the parser reads its output
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    cases = {c.name: c for c in parse_pytest_junit(xml, "proj")}
    assert set(cases) == {
        "tests/test_x.py::test_ok",
        "tests/test_x.py::TestGroup::test_param[a]",
        "tests/test_x.py::TestGroup::test_param[b]",
        "tests/test_x.py::test_skip",
    }
    failed = cases["tests/test_x.py::TestGroup::test_param[b]"]
    assert failed.outcome == FAILED and "captured b" in failed.output
    assert failed.ident == "proj/tests/test_x.py::TestGroup::test_param[b]"
    assert cases["tests/test_x.py::test_skip"].outcome == SKIPPED


def test_node_id_without_file_attribute_is_guessed_from_classname() -> None:
    assert node_id("tests.test_a.TestC", "test_x[1]", None) == "tests/test_a.py::TestC::test_x[1]"
    assert (
        node_id("pkg.tests.test_a", "test_y", "pkg/tests/test_a.py")
        == "pkg/tests/test_a.py::test_y"
    )


def test_merged_junit_has_one_testsuites_root_with_counts() -> None:
    first = SuiteResult(
        "unit",
        0.0,
        2.0,
        [
            TestCase("pytest", ".", "t.py::a", PASSED, 0.5, "t"),
            TestCase("pytest", ".", "t.py::b", FAILED, 0.1, "t", "boom", "trace \x1b[31m"),
            TestCase("pytest", ".", "t.py::c", FLAKY, 0.2, "t", "", "first try failed", 2),
        ],
    )
    second = SuiteResult(
        "go", 0.0, 1.0, [TestCase("go", "m/p", "TestS", SKIPPED, 0.0, "m/p", "later")]
    )
    root = ET.fromstring(merged_junit([first, second]))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "1", "1")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["unit", "go"]
    cases = suites[0].findall("testcase")
    assert cases[1].find("failure").get("message") == "boom"
    assert cases[2].find("properties/property").get("name") == "flaky"
    assert suites[1].find("testcase/skipped") is not None
    from junitparser import JUnitXml

    parsed = JUnitXml.fromstring(merged_junit([first, second]))
    assert sum(1 for suite in parsed for _ in suite) == 4


def test_durations_are_merged_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    record_durations(path, {"a": 1.0, "b": 2.0})
    merged = record_durations(path, {"b": 4.0, "c": 3.0})
    assert read_durations(path) == merged
    assert merged["a"] == 1.0 and merged["c"] == 3.0
    assert 2.0 < merged["b"] < 4.0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".durations")]


@pytest.mark.parametrize("text", ["{not json", '{"format": 1, "tests": []}', "[]"])
def test_a_corrupt_durations_record_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "durations.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"corrupt durations record .*delete it"):
        read_durations(path)
    assert record_durations(path, {"a": 1.0}) == {"a": 1.0}  # a run replaces it


@needs_go
def test_go_cover_profiles_of_two_runs_merge(tmp_path: Path) -> None:
    module = tmp_path / "m"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (module / "m.go").write_text(
        "package m\n\nfunc A() int { return 1 }\n\nfunc B() int { return 2 }\n"
    )
    (module / "m_test.go").write_text(
        'package m\n\nimport "testing"\n\nfunc TestA(t *testing.T) { A() }\n\nfunc TestB(t *testing.T) { B() }\n'
    )
    profiles = []
    for name in ("TestA", "TestB"):
        out = tmp_path / f"{name}.out"
        subprocess.run(
            ["go", "test", "-run", name, f"-coverprofile={out}", "."],
            cwd=module,
            check=True,
            capture_output=True,
        )
        profiles.append(out.read_text())
    assert go_percent(profiles[0]) == pytest.approx(50.0)
    merged = merge_go_profiles(profiles)
    assert merged.startswith("mode: set\n")
    assert go_percent(merged) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="mix modes"):
        merge_go_profiles([profiles[0], profiles[1].replace("mode: set", "mode: count")])
