"""Shared test fixtures: the robustness harness counts the inputs it generates, per estimator,
and the count is printed at the end of the run."""

from collections import Counter

import pytest

_KEY = pytest.StashKey[Counter]()


@pytest.fixture(scope="session")
def fuzz_counter(request):
    """A session-wide ``Counter`` of generated inputs per estimator name."""
    return request.config.stash.setdefault(_KEY, Counter())


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    counts = config.stash.get(_KEY, None)
    if not counts:
        return
    terminalreporter.section("robustness harness: generated inputs per estimator")
    for name, n in sorted(counts.items()):
        terminalreporter.write_line(f"{name}: {n}")
