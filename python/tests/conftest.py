"""Shared by the package's tests: the conformance runner's per-case results and its summary line."""

from __future__ import annotations

from typing import Dict

import pytest

# Case name -> passed, filled by test_conformance.py in the order the cases ran.
_CONFORMANCE: Dict[str, bool] = {}


@pytest.fixture
def conformance_results() -> Dict[str, bool]:
    """Where each conformance case records whether it passed."""
    return _CONFORMANCE


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Prints `conformance python: N cases, P passed, F failed` once any case ran (shown even with -q)."""
    if not _CONFORMANCE:
        return
    passed = sum(_CONFORMANCE.values())
    failed = len(_CONFORMANCE) - passed
    terminalreporter.write_line(f"conformance python: {len(_CONFORMANCE)} cases, {passed} passed, {failed} failed")
    for name, ok in _CONFORMANCE.items():
        if not ok:
            terminalreporter.write_line(f"conformance python: FAILED {name}")
