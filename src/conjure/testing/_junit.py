"""JUnit XML: pytest's reports in (through junitparser), one merged report out.

pytest is run with ``-o junit_family=xunit1`` so each case carries its ``file``: the node id
is rebuilt from it, and a failed test can be re-run by node id.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from conjure.testing._model import FAILED, FLAKY, PASSED, SKIPPED, SuiteResult, TestCase

OUTPUT_LIMIT = 20_000


def parse_pytest_junit(path: Path, group: str) -> list[TestCase]:
    """The cases of a pytest JUnit XML file.

    Args:
        path: the XML file pytest wrote (``--junitxml``).
        group: the pytest project folder the node ids are relative to.

    Raises:
        ValueError: the file is not JUnit XML.
    """
    from junitparser import Error, Failure, JUnitXml, Skipped

    xml = JUnitXml.fromfile(str(path))
    suites: list[Any] = [xml] if xml._tag == "testsuite" else list(xml)
    cases = []
    for suite in suites:
        for case in suite:
            results = list(case.result)
            outcome, message, text = PASSED, "", ""
            for result in results:
                if isinstance(result, (Failure, Error)):
                    outcome = FAILED
                elif isinstance(result, Skipped) and outcome == PASSED:
                    outcome = SKIPPED
                lines = (result.message or "").strip().splitlines()
                message = message or (lines[0] if lines else "")
                text += (result.text or "") + "\n"
            if outcome == FAILED:
                text += _captured(case)
            cases.append(
                TestCase(
                    runner="pytest",
                    group=group,
                    name=node_id(case.classname or "", case.name or "", case._elem.get("file")),
                    outcome=outcome,
                    duration=float(case.time or 0.0),
                    classname=case.classname or "",
                    message=(message or "")[:300],
                    output=text.strip()[-OUTPUT_LIMIT:] if outcome == FAILED else "",
                )
            )
    return cases


def _captured(case: object) -> str:
    parts = []
    for attr in ("system_out", "system_err"):
        value = getattr(case, attr, None)
        if value:
            parts.append(f"--- captured {attr.replace('system_', 'std')} ---\n{value}")
    return "\n".join(parts)


def node_id(classname: str, name: str, file: str | None) -> str:
    """pytest's node id from a JUnit case: ``tests/test_a.py::TestC::test_x[1]``.

    Args:
        classname: dotted module path, then classes (``tests.test_a.TestC``).
        name: the test function's name with its parameters.
        file: the test file (xunit1 reports have it); without it the module path is guessed
            from the classname.
    """
    if file:
        module = file[:-3].replace("/", ".").replace("\\", ".") if file.endswith(".py") else file
        rest = classname[len(module) :].lstrip(".") if classname.startswith(module) else ""
        parts = [file.replace("\\", "/"), *([p for p in rest.split(".") if p]), name]
        return "::".join(parts)
    pieces = classname.split(".")
    classes = [p for p in pieces if p[:1].isupper()]
    module = "/".join(p for p in pieces if p not in classes) + ".py"
    return "::".join([module, *classes, name])


def merged_junit(results: Iterable[SuiteResult]) -> bytes:
    """One JUnit XML document for a whole run: a ``testsuites`` root, one ``testsuite`` per
    conjure suite, one ``testcase`` per test (with ``failure``/``skipped``). A flaky test is
    a passing case with a ``flaky`` property and the failed attempt's output in
    ``system-out``."""
    root = ET.Element("testsuites", name="conjure")
    totals = {"tests": 0, "failures": 0, "skipped": 0, "time": 0.0}
    for result in results:
        element = _suite_element(result)
        root.append(element)
        for key in ("tests", "failures", "skipped"):
            totals[key] += int(element.get(key, "0"))
        totals["time"] += result.duration
    for key, value in totals.items():
        root.set(key, f"{value:.3f}" if key == "time" else str(value))
    root.set("errors", "0")
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _suite_element(result: SuiteResult) -> ET.Element:
    suite = ET.Element("testsuite", name=result.suite)
    suite.set("tests", str(len(result.cases)))
    suite.set("failures", str(result.count(FAILED)))
    suite.set("errors", "0")
    suite.set("skipped", str(result.count(SKIPPED)))
    suite.set("time", f"{result.duration:.3f}")
    for case in result.cases:
        suite.append(_case_element(case))
    return suite


def _case_element(case: TestCase) -> ET.Element:
    element = ET.Element("testcase", classname=case.classname or case.group, name=case.name)
    element.set("time", f"{case.duration:.3f}")
    if case.outcome == FAILED:
        failure = ET.SubElement(element, "failure", message=case.message or "failed")
        failure.text = _clean(case.output)
    elif case.outcome == SKIPPED:
        ET.SubElement(element, "skipped", message=case.message or "skipped")
    elif case.outcome == FLAKY:
        properties = ET.SubElement(element, "properties")
        ET.SubElement(properties, "property", name="flaky", value=str(case.attempts))
        out = ET.SubElement(element, "system-out")
        out.text = _clean(f"flaky: failed, then passed (attempts: {case.attempts})\n{case.output}")
    return element


def _clean(text: str) -> str:
    """Drops characters XML 1.0 cannot hold (terminal control codes in test output)."""
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)
