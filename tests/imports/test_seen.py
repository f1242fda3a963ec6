"""The repeated-key memory: a set, then a sorted array, then a temporary file, answering the same at every stage."""

from __future__ import annotations

import random
import subprocess
import sys
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from jobdeck.imports import seen
from jobdeck.service import Service
from tests.imports.conftest import CORPUS, RunImport, SetSetting, rows


def repeats_by_a_plain_set(batches: list[list[int]]) -> list[set[int]]:
    """The answers of a plain set of the hashes."""
    known: set[int] = set()
    answers = []
    for batch in batches:
        answer = set()
        for position, digest in enumerate(batch):
            if digest in known:
                answer.add(position)
            known.add(digest)
        answers.append(answer)
    return answers


@settings(max_examples=100, deadline=None)
@given(
    batches=st.lists(
        st.lists(
            st.integers(min_value=-(2**63), max_value=2**63 - 1)
            | st.integers(-20, 20)  # small: repeated often
            | st.sampled_from([-(2**63), 2**63 - 1]),  # the ends of the hashes' range
            max_size=12,
        )
    ),
    memory_keys=st.integers(min_value=0, max_value=10),
    set_keys=st.integers(min_value=0, max_value=10),
)
def test_repeats_are_the_same_in_a_set_in_the_array_and_spilled(
    batches: list[list[int]], memory_keys: int, set_keys: int
) -> None:
    keys = seen.SeenKeys(memory_keys=memory_keys, set_keys=set_keys)
    try:
        assert [keys.repeats(batch) for batch in batches] == repeats_by_a_plain_set(batches)
    finally:
        keys.close()


def test_an_import_rejects_a_key_repeated_in_a_later_chunk(
    run_import: RunImport, importer: Service, set_setting: SetSetting
) -> None:
    set_setting(import_chunk_rows=1)  # every row its own chunk: each repeat is found among earlier chunks' keys
    result = run_import((CORPUS / "duplicate_keys.csv").read_bytes())
    assert result.error_codes == [(2, "email", "duplicate_key"), (4, "email", "duplicate_key")]
    assert [r["email"] for r in rows(importer)] == ["ada@example.com", "alan@example.com"]


def test_a_million_keys_are_remembered_in_about_eight_bytes_each() -> None:
    # A set of Python ints took ~70 MB for a million keys, a third of an import's memory budget.
    rng = random.Random(5)
    batches = [[rng.getrandbits(64) - 2**63 for _ in range(20_000)] for _ in range(50)]
    keys = seen.SeenKeys()
    tracemalloc.start()
    try:
        for batch in batches:
            assert keys.repeats(batch) == set()
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        keys.close()
    assert held < 12 * 1_000_000


def test_the_keys_of_a_small_file_are_checked_without_loading_numpy() -> None:
    # numpy's libraries take 80 MB of the reading child's capped address space: only a long file pays that.
    script = (
        "import sys; from jobdeck.imports import seen; keys = seen.SeenKeys(); "
        "[keys.repeats(list(range(n * 1000, n * 1000 + 1000))) for n in range(seen.SET_KEYS // 1000)]; "
        "print('numpy' in sys.modules)"
    )
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == "False"
