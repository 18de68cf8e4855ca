"""The project's promises about itself: the README's commands and CI agree."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    commands = _readme_commands()
    readme = (ROOT / "README.md").read_text()
    marker = readme.index("test-command")
    test_cmd = next(c for c in commands if readme.index(c) > marker)
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd.strip() in ci


def test_readme_has_exactly_two_setup_commands_before_the_first_section():
    text = (ROOT / "README.md").read_text()
    top = text.split("\n## ", 1)[0]
    assert len(re.findall(r"```bash\n", top)) == 2
    assert "python -m skspectral demo" in top


def test_ci_fails_on_an_empty_test_selection():
    ci = (ROOT / ".ci" / "run").read_text()
    assert '"$status" -eq 5' in ci
