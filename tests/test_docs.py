"""Every ```python block in README.md and docs/*.md runs, in order, per file.

Blocks of one file share a namespace (as a reader pastes them into one
session); each file runs in a fresh interpreter in a temporary directory, so
the docs cannot drift from the code.  A block whose first line is
``# doc: no-run`` is shown but not run (used only for cluster commands that
need machines the test cannot have).
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def doc_files():
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    return [f for f in files if f.exists() and BLOCK.search(f.read_text())]


def blocks(path: pathlib.Path) -> list[str]:
    return [b for b in BLOCK.findall(path.read_text()) if not b.lstrip().startswith("# doc: no-run")]


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.name)
def test_doc_examples_run(path, tmp_path):
    code = []
    for i, block in enumerate(blocks(path)):
        code.append(f"# --- block {i + 1} ---\n{textwrap.dedent(block)}")
    script = tmp_path / f"doc_{path.stem}.py"
    script.write_text("\n".join(code))
    env = dict(os.environ, PYTHONPATH=str(ROOT), SHOAL_DOCS_TEST="1", MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{path.name} examples failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
