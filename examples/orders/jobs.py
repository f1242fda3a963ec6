"""What the application adds to jobdeck: the `export_orders` job type and the `orders` import target.

jobdeck loads this module by name (JOBDECK_JOB_MODULES=examples.orders.jobs), in the web process and in any
`jobdeck worker` process alike.
"""

from __future__ import annotations

import csv
import io

import pydantic
import sqlalchemy as sa

from examples.orders.tables import orders
from jobdeck import model
from jobdeck.imports import tables
from jobdeck.imports.targets import TARGETS
from jobdeck.runner.context import JobContext
from jobdeck.runner.registry import job_type

EXPORT_ORDERS = "export_orders"


class ExportParams(pydantic.BaseModel):
    customer: str | None = pydantic.Field(default=None, max_length=100, description="only this customer's orders")


def _describe(params: dict[str, object]) -> str:
    customer = params.get("customer")
    return f"Orders of {customer}" if customer else "All orders"


@job_type(EXPORT_ORDERS, title="Export orders", audience="everyone", params=ExportParams, describe=_describe)
def export_orders(ctx: JobContext) -> None:
    """Write the orders (of one customer, or all) to a CSV file attached to the job."""
    query = sa.select(orders.c.number, orders.c.customer, orders.c.amount, orders.c.ordered_on).order_by(
        orders.c.number
    )
    customer = ctx.params.get("customer")
    if customer:
        query = query.where(orders.c.customer == customer)
    with ctx.subtask("Read the orders"), ctx.db.read() as conn:
        rows = conn.execute(query).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["number", "customer", "amount", "ordered_on"])
    for row in rows:
        writer.writerow([row.number, row.customer, f"{row.amount:.2f}", row.ordered_on.isoformat()])
    ctx.progress(len(rows), len(rows))
    with ctx.subtask(f"Write {len(rows)} order(s)"):
        ctx.attach(model.FileKind.OUTPUT, "orders.csv", [out.getvalue().encode()], content_type="text/csv")


#: Imports into the application's own table: columns, types, lengths and the key (the unique order number)
#: come from the Table itself.
TARGETS.add(tables.from_table(orders, title="Orders", description="Orders, matched on their number"))
