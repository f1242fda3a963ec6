"""The whole-column checks against the per-cell converter they stand in for, for any column a target may
declare: what a column check is sure of is what the converter gives, and every cell the converter refuses
is a suspect."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jobdeck.imports import cells, fast, targets
from jobdeck.imports.targets import Column

#: Cells rich in what the normalisers change: spaces at either end, runs of them, tabs, no-break spaces,
#: line breaks, letters of either case, and a separator-like "|".
CELL = st.text(alphabet=st.sampled_from([" ", "\t", "\xa0", "\n", "\u3000", "a", "B", "é", "|", "1", "\x00"]))
#: Values a whitespace normaliser changes or must leave alone, alone or side by side in a column.
SPACED = [" a", "a ", "a  b", "a b", "a\tb", "a| b", "A"]
NORMALIZE = st.lists(st.sampled_from(sorted(targets.NORMALIZERS)), max_size=4).map(tuple)


@st.composite
def text_columns(draw: st.DrawFn) -> Column:
    return Column(
        "x",
        required=draw(st.booleans()),
        max_length=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=6))),
        normalize=draw(NORMALIZE),
    )


def _agrees(col: Column, column: list[str]) -> None:
    values, suspects = fast.fast_column(col)(column)
    convert = cells.converter(col)
    for i, cell in enumerate(column):
        try:
            expected = convert(cell)
        except cells.Invalid:
            assert i in suspects, (cell, col.normalize)
            continue
        if i not in suspects:
            assert values[i] == expected, (cell, col.normalize)


@settings(max_examples=300, deadline=None)
@given(col=text_columns(), column=st.lists(CELL, max_size=12))
def test_a_text_column_check_gives_the_converters_value_for_every_cell_it_does_not_suspect(
    col: Column, column: list[str]
) -> None:
    _agrees(col, column)


@settings(max_examples=100, deadline=None)
@given(normalize=NORMALIZE, column=st.lists(st.sampled_from(SPACED), max_size=6))
def test_values_with_spaces_at_their_ends_are_trimmed_by_collapse_spaces_alone(
    normalize: tuple[str, ...], column: list[str]
) -> None:
    _agrees(Column("x", normalize=normalize), column)


def test_collapse_spaces_without_trim_strips_the_ends_as_the_converter_does() -> None:
    values, suspects = fast.fast_column(Column("x", normalize=("collapse_spaces",)))([" a", "b ", "e"])
    assert (values, suspects) == (["a", "b", "e"], set())
