"""The README's Python section works as written: each of its Python blocks runs as is, in a
new interpreter, as a newcomer would paste it."""

from __future__ import annotations

import pathlib
import re

import pytest
from helpers import run_python

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_blocks():
    text = README.read_text()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_section_has_examples():
    assert len(python_blocks()) >= 3


@pytest.mark.parametrize("index", range(3))
def test_readme_block_runs(index):
    blocks = python_blocks()
    code = blocks[index]
    done = run_python(code, timeout=300)
    assert done.returncode == 0, done.stderr
    # Where the README shows what a line prints, it prints that.
    for expected in re.findall(r"print\(.*\)\s+# (.+)", code):
        assert expected.strip() in done.stdout, (expected, done.stdout)
