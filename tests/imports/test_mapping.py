"""Column mapping: a file's headers matched onto a target by name, alias and similarity, or by the user."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from jobdeck import errors
from jobdeck.demo import imports as demo
from jobdeck.imports import mapping, targets, validate
from jobdeck.imports.targets import Column, Target

CONTACTS = demo.contacts


def test_headers_match_whatever_their_case_spacing_punctuation_or_accents() -> None:
    found = mapping.match_columns(CONTACTS, ["FIRST NAME", "last-name", "ÉMAIL", "Created  On!"])
    assert found.as_user_mapping() == {
        "FIRST NAME": "first_name",
        "last-name": "last_name",
        "ÉMAIL": "email",
        "Created  On!": "created_on",
    }
    assert {(m.how, m.confidence) for m in found.matches if m.file_column} == {("exact", 1.0)}
    assert found.ok


def test_aliases_in_other_languages_match_with_full_confidence() -> None:
    found = mapping.match_columns(CONTACTS, ["Prénom", "Nachname", "Correo electrónico", "Telefon", "Société"])
    assert [(m.column, m.file_column, m.how, m.confidence) for m in found.matches[:5]] == [
        ("first_name", "Prénom", "alias", 1.0),
        ("last_name", "Nachname", "alias", 1.0),
        ("email", "Correo electrónico", "alias", 1.0),
        ("phone", "Telefon", "alias", 1.0),
        ("company", "Société", "alias", 1.0),
    ]


def test_a_close_misspelling_is_matched_with_its_similarity_as_confidence() -> None:
    found = mapping.match_columns(CONTACTS, ["First Name", "Last Name", "E-mail Adress"])
    email = found.match("email")
    assert email.file_column == "E-mail Adress"
    assert email.how == "similar"
    assert mapping.ACCEPT <= email.confidence < 1.0


def test_a_distant_likeness_is_a_suggestion_not_a_decision() -> None:
    found = mapping.match_columns(CONTACTS, ["fname", "Last Name", "Email"])
    assert found.match("first_name").file_column is None
    [suggestion] = found.suggestions
    assert (suggestion.file_column, suggestion.column) == ("fname", "first_name")
    assert mapping.SUGGEST <= suggestion.confidence < mapping.ACCEPT
    assert "fname" in found.ignored


def test_columns_matching_nothing_are_ignored_and_listed() -> None:
    found = mapping.match_columns(CONTACTS, ["Notes", "first_name", "last_name", "email", "Internal ID"])
    assert found.ok
    assert found.ignored == ("Notes", "Internal ID")


def test_a_strict_target_makes_extra_columns_an_error() -> None:
    strict = Target(
        name="strict_contacts",
        title="Strict contacts",
        columns=CONTACTS.columns,
        key=CONTACTS.key,
        table=CONTACTS.table,
        strict=True,
    )
    found = mapping.match_columns(strict, ["first_name", "last_name", "email", "Notes"])
    assert found.errors == ("Strict contacts takes no other columns, and the file has 'Notes'.",)


def test_a_missing_required_column_is_an_error_naming_it_and_the_closest_headers() -> None:
    found = mapping.match_columns(CONTACTS, ["first_name", "last_name", "mail adr", "Notes"])
    [problem] = found.errors
    assert problem.startswith("The required column 'email' matches no column of the file")
    assert "'mail adr'" in problem
    with pytest.raises(errors.ImportRejected, match="'email'"):
        mapping.require(found)


def test_an_exact_name_wins_over_an_alias_of_the_same_column() -> None:
    found = mapping.match_columns(CONTACTS, ["Courriel", "first_name", "last_name", "email"])
    assert found.match("email").file_column == "email"
    assert found.ignored == ("Courriel",)


def test_two_columns_equally_fit_for_one_target_column_are_an_error_until_the_user_chooses() -> None:
    header = ["first_name", "last_name", "Mail", "Courriel"]
    found = mapping.match_columns(CONTACTS, header)
    assert any("could be 'email'" in e for e in found.errors)
    chosen = mapping.match_columns(CONTACTS, header, {"Courriel": "email"})
    assert chosen.ok
    assert chosen.match("email").how == "user"
    assert chosen.ignored == ("Mail",)


def test_a_user_mapping_overrides_the_automatic_one() -> None:
    found = mapping.match_columns(
        CONTACTS, ["Given", "Family", "Email", "Phone"], {"Given": "first_name", "Family": "last_name", "Phone": None}
    )
    assert found.match("first_name").file_column == "Given"
    assert found.match("last_name").how == "user"
    assert found.match("phone").file_column is None
    assert found.ignored == ("Phone",)


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"Given": "nickname"}, "Contacts has no column 'nickname'"),
        ({"Given": "first_name", "Family": "first_name"}, "'first_name' is mapped twice"),
        ({"Nope": "first_name"}, "the file has no column 'Nope'"),
        ({"Given": "first_name", "GIVEN": "last_name"}, "the file column 'Given' is named twice"),
    ],
)
def test_a_user_mapping_naming_what_does_not_exist_or_twice_is_refused(user: dict[str, str], message: str) -> None:
    with pytest.raises(errors.InvalidParams, match=message):
        mapping.match_columns(CONTACTS, ["Given", "Family", "Email"], user)


def test_positions_give_each_target_column_its_index_in_the_file_row() -> None:
    found = mapping.match_columns(CONTACTS, ["Notes", "email", "Last Name", "First Name"])
    assert mapping.positions(found) == [3, 2, 1, None, None, None, None]
    columns, indexes = mapping.used_columns(CONTACTS, found)
    assert [c.name for c in columns] == ["first_name", "last_name", "email"]
    pick = mapping.picker(indexes)
    assert pick(["n", "ada@example.com", "Lovelace", "Ada"]) == ["Ada", "Lovelace", "ada@example.com"]
    assert pick(["n", "ada@example.com"]) == ["", "", "ada@example.com"]


def test_mapped_rows_pass_the_row_check_in_the_target_columns() -> None:
    found = mapping.match_columns(CONTACTS, ["Courriel", "Notes", "Nom", "Prénom", "Pays"])
    columns, indexes = mapping.used_columns(CONTACTS, found)
    pick = mapping.picker(indexes)
    checker = validate.RowChecker(CONTACTS, columns)
    values, problems = checker.check(1, pick(["ADA@example.com", "met at a fair", "Lovelace", "Ada", "gb"]))
    checker.close()
    assert problems == []
    assert values == ("Ada", "Lovelace", "ada@example.com", "GB")


def test_a_target_refuses_two_columns_whose_headers_read_the_same() -> None:
    table = sa.Table("t_same", sa.MetaData(), sa.Column("a", sa.Text), sa.Column("b", sa.Text))
    with pytest.raises(ValueError, match="reads the same"):
        Target("t", "T", (Column("a", aliases=("Code",)), Column("b", aliases=("CODE",))), ("a",), table)


def _names(col: Column) -> list[str]:
    variants = []
    for name in col.headers:
        variants += [name, name.upper(), name.title(), name.replace("_", " "), f" {name.replace('_', '-')} "]
    return variants


EXTRAS = ["Notes", "Internal ID", "Source", "Tags", "Owner", "Region", "Comments", "Score", "Segment", "Remarks"]


@st.composite
def headers(draw: st.DrawFn, target: Target) -> tuple[list[str], dict[str, int]]:
    """Every column of the target under a name drawn from its names, aliases and their case variants,
    plus extra columns, in any order; and where each target column is."""
    cells = [(draw(st.sampled_from(_names(col))), col.name) for col in target.columns]
    extras = draw(st.lists(st.sampled_from(EXTRAS), unique=True, max_size=4))
    everything = draw(st.permutations(cells + [(extra, None) for extra in extras]))
    return [cell for cell, _ in everything], {name: at for at, (_, name) in enumerate(everything) if name}


@pytest.mark.parametrize("target", [demo.contacts, demo.products], ids=lambda t: t.name)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_order_of_names_aliases_and_extras_maps_every_target_column_to_its_file_column(
    target: Target, data: st.DataObject
) -> None:
    header, where = data.draw(headers(target))
    found = mapping.match_columns(target, header)
    assert found.ok, found.errors
    assert {m.column: m.position for m in found.matches} == where
    assert sorted(found.ignored) == sorted(h for i, h in enumerate(header) if i not in where.values())


def test_extras_used_by_the_property_match_no_demo_column() -> None:
    keys = {targets.header_key(h) for t in (demo.contacts, demo.products) for c in t.columns for h in c.headers}
    assert not keys & {targets.header_key(e) for e in EXTRAS}
