"""docs/writing-job-types.md: its python examples, in order, are one pytest module that runs in a process of its
own (as an application's would) against a fresh database; its story must run and its tests must pass."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

DOC = pathlib.Path(__file__).parent.parent.parent / "docs" / "writing-job-types.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
#: A process that imports jobdeck, migrates and runs a few jobs; generous for a loaded machine.
PATIENCE_S = 600


def examples() -> list[str]:
    return BLOCK.findall(DOC.read_text())


def test_the_doc_has_its_examples() -> None:
    blocks = examples()
    assert len(blocks) >= 6
    assert any("async def" in block for block in blocks)
    assert any("connection=conn" in block for block in blocks)


@pytest.mark.slow
@pytest.mark.timeout(PATIENCE_S + 60)
def test_the_docs_examples_run_and_their_tests_pass(database_url: str, tmp_path: pathlib.Path) -> None:
    module = tmp_path / "test_doc_examples.py"
    module.write_text("\n\n".join(examples()))
    env = {
        **os.environ,
        "JOBDECK_DATABASE_URL": database_url,
        "JOBDECK_DATA_DIR": str(tmp_path / "data"),
        "JOBDECK_JOB_MODULES": "jobdeck.demo",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout
