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

#: Other headers each demo column answers to: the usual English variants, then French, German, Spanish,
#: Italian and Chinese ones. Case, accents, spaces and punctuation never matter (`targets.header_key`).
ALIASES: dict[str, tuple[str, ...]] = {
    # contacts
    "first_name": ("First Name", "Firstname", "Given Name", "Forename", "Prénom", "Vorname", "Nombre", "Nome", "名"),
    "last_name": (
        "Last Name",
        "Surname",
        "Family Name",
        "Nom",
        "Nom de famille",
        "Nachname",
        "Apellido",
        "Apellidos",
        "Cognome",
        "姓",
    ),
    "email": (
        "E-mail",
        "Email Address",
        "E-mail Address",
        "Mail",
        "Courriel",
        "Adresse e-mail",
        "E-Mail-Adresse",
        "Correo electrónico",
        "Correo",
        "Indirizzo email",
        "電子郵件",
        "電郵",
    ),
    "phone": (
        "Phone Number",
        "Telephone",
        "Tel",
        "Mobile",
        "Téléphone",
        "Telefon",
        "Telefonnummer",
        "Teléfono",
        "Telefono",
        "電話",
    ),
    "company": (
        "Company Name",
        "Organization",
        "Organisation",
        "Employer",
        "Société",
        "Entreprise",
        "Firma",
        "Unternehmen",
        "Empresa",
        "Azienda",
        "公司",
    ),
    "country": ("Country Code", "Pays", "Land", "País", "Paese", "國家"),
    "created_on": (
        "Created",
        "Created At",
        "Date Created",
        "Creation Date",
        "Date de création",
        "Erstellt am",
        "Fecha de creación",
        "建立日期",
    ),
    # products
    "sku": ("Item Code", "Product Code", "Article Number", "Référence", "Artikelnummer", "Código", "貨號"),
    "name": ("Product Name", "Product", "Item Name", "Nom du produit", "Produktname", "Nombre del producto", "品名"),
    "price": ("Unit Price", "Prix", "Preis", "Precio", "Prezzo", "價格"),
    "quantity": ("Qty", "Stock", "Quantité", "Menge", "Anzahl", "Cantidad", "Quantità", "數量"),
    "active": ("Enabled", "Is Active", "Actif", "Aktiv", "Activo", "Attivo", "啟用"),
}

contacts = targets.TARGETS.add(
    Target(
        name="contacts",
        title="Contacts",
        description="People, one per email address; a known email updates that contact.",
        columns=(
            Column(
                "first_name",
                required=True,
                max_length=100,
                normalize=("trim", "collapse_spaces"),
                aliases=ALIASES["first_name"],
            ),
            Column(
                "last_name",
                required=True,
                max_length=100,
                normalize=("trim", "collapse_spaces"),
                aliases=ALIASES["last_name"],
            ),
            Column(
                "email", "email", required=True, max_length=254, normalize=("trim", "lower"), aliases=ALIASES["email"]
            ),
            Column("phone", max_length=40, aliases=ALIASES["phone"]),
            Column("company", max_length=200, aliases=ALIASES["company"]),
            Column("country", max_length=2, allowed=COUNTRIES, normalize=("trim", "upper"), aliases=ALIASES["country"]),
            Column("created_on", "date", aliases=ALIASES["created_on"]),
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
            Column("sku", required=True, max_length=40, normalize=("trim", "upper"), aliases=ALIASES["sku"]),
            Column("name", required=True, max_length=200, aliases=ALIASES["name"]),
            Column(
                "price", "decimal", required=True, minimum=0, maximum=9_999_999_999, places=2, aliases=ALIASES["price"]
            ),
            Column("quantity", "int", required=True, minimum=0, maximum=2_000_000_000, aliases=ALIASES["quantity"]),
            Column("active", "bool", required=True, aliases=ALIASES["active"]),
        ),
        key=("sku",),
        table=products_table,
    )
)
