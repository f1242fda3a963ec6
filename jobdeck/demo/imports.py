"""Demo import targets: `contacts` (keyed by email) and `products` (keyed by SKU), with their tables."""

from __future__ import annotations

import sqlalchemy as sa

from jobdeck.imports import targets
from jobdeck.imports.targets import Column, Target

# An INTEGER PRIMARY KEY is SQLite's rowid: the writer counts rows created by a chunk from it.
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

contacts_table = sa.Table(
    "demo_contacts",
    targets.metadata,
    sa.Column("id", _Id, primary_key=True),
    sa.Column("first_name", sa.String(100), nullable=False),
    sa.Column("last_name", sa.String(100), nullable=False),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("phone", sa.String(40)),
    sa.Column("company", sa.String(200)),
    sa.Column("country", sa.String(2)),
    sa.Column("created_on", sa.Date),
)

products_table = sa.Table(
    "demo_products",
    targets.metadata,
    sa.Column("id", _Id, primary_key=True),
    sa.Column("sku", sa.String(40), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)

#: ISO 3166-1 alpha-2 codes the demo accepts for a contact's country.
_COUNTRY_CODES = (
    "AR AT AU BE BR CA CH CL CN CO CZ DE DK EG ES FI FR GB GR HK HU ID IE IL IN IT JP KR MA MX "
    "MY NG NL NO NZ PE PH PK PL PT RO RU SA SE SG TH TR TW UA US VN ZA"
)
COUNTRIES = tuple(_COUNTRY_CODES.split())

contacts = targets.TARGETS.add(
    Target(
        name="contacts",
        title="Contacts",
        description="People, one per email address; a known email updates that contact.",
        columns=(
            Column("first_name", required=True, max_length=100, normalize=("trim", "collapse_spaces")),
            Column("last_name", required=True, max_length=100, normalize=("trim", "collapse_spaces")),
            Column("email", "email", required=True, max_length=254, normalize=("trim", "lower"), aliases=("e-mail",)),
            Column("phone", max_length=40),
            Column("company", max_length=200),
            Column("country", max_length=2, allowed=COUNTRIES, normalize=("trim", "upper")),
            Column("created_on", "date"),
        ),
        key=("email",),
        table=contacts_table,
    )
)

products = targets.TARGETS.add(
    Target(
        name="products",
        title="Products",
        description="The catalogue, one row per SKU; a known SKU updates that product.",
        columns=(
            Column("sku", required=True, max_length=40, normalize=("trim", "upper")),
            Column("name", required=True, max_length=200),
            Column("price", "decimal", required=True, minimum=0, maximum=9_999_999_999, places=2),
            Column("quantity", "int", required=True, minimum=0, maximum=2_000_000_000),
            Column("active", "bool", required=True),
        ),
        key=("sku",),
        table=products_table,
    )
)
