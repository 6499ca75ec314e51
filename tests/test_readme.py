"""The README's code runs (at the seed's size: a few seconds) and its Quick start has two commands."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

README = Path(__file__).resolve().parent.parent / "README.md"


def test_quick_start_is_two_commands():
    quick_start = README.read_text().split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", quick_start, flags=re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2
    assert "specfwi demo" in commands[0] and "pytest" in commands[1]


def test_readme_example_runs_twice_and_the_second_run_reuses_the_gradient(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = re.search(r"```python\n(.*?)```", README.read_text(), flags=re.S).group(1)
    first, second = {}, {}
    exec(compile(code, str(README), "exec"), first)
    exec(compile(code, str(README), "exec"), second)
    assert second["gradients"] == first["gradients"]
    assert (second["g"].to_vector() == first["g"].to_vector()).all()
    assert first["g"].model.element_nodal_fields["VP"].any()
