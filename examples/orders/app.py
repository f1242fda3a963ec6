"""The host application: its own sign-in, its orders, and jobdeck mounted at /admin/jobs.

Creating an order enqueues an `export_orders` job in the SAME transaction as the order's row: both commit, or
neither does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import secrets
from decimal import Decimal, InvalidOperation
from typing import Annotated

import sqlalchemy as sa
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

import jobdeck
from examples.orders import jobs
from examples.orders.tables import metadata, orders
from jobdeck.settings import Settings
from jobdeck.settings import load as load_settings

JOBS_PREFIX = "/admin/jobs"
#: The application's own accounts (it is an example): name -> (password, display name, admin of jobs).
ACCOUNTS = {
    "clerk": ("clerk-password", "Carla Clerk", False),
    "boss": ("boss-password", "Bob Boss", True),
}
COOKIE = "orders_user"
#: The most a customer may have on order: checked after the new order is in, inside its transaction.
CREDIT_LIMIT = Decimal("10000")


class OverCreditLimit(Exception):
    """The customer's orders would exceed CREDIT_LIMIT; the order's transaction is rolled back."""


def place_order(conn: sa.Connection, customer: str, amount: Decimal, run_by_id: int) -> int:
    """Insert an order and enqueue the export of its customer's orders on `conn`, in the caller's transaction:
    if that transaction rolls back, there is neither an order nor a job. Returns the job's id."""
    number = f"O-{secrets.token_hex(4).upper()}"
    conn.execute(sa.insert(orders).values(number=number, customer=customer, amount=amount, ordered_on=dt.date.today()))
    job_id = jobs.export_orders.enqueue({"customer": customer}, run_by=run_by_id, page="/", connection=conn)
    total = conn.execute(sa.select(sa.func.sum(orders.c.amount)).where(orders.c.customer == customer)).scalar_one()
    if Decimal(total) > CREDIT_LIMIT:
        raise OverCreditLimit(f"{customer} would have {total} on order, over the limit of {CREDIT_LIMIT}")
    return job_id


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(job_modules="examples.orders.jobs")
    secret = settings.resolved_secret_key.encode()
    app = FastAPI(title="Orders (a jobdeck example)")

    def signed(name: str) -> str:
        return name + "." + hmac.new(secret, name.encode(), hashlib.sha256).hexdigest()

    def signed_in(request: Request) -> jobdeck.HostUser | None:
        name, _, signature = request.cookies.get(COOKIE, "").partition(".")
        if name not in ACCOUNTS or not hmac.compare_digest(signed(name), f"{name}.{signature}"):
            return None
        _, display_name, is_admin = ACCOUNTS[name]
        return jobdeck.HostUser(username=name, display_name=display_name, is_admin=is_admin)

    def to_sign_in(request: Request) -> Response:
        return RedirectResponse("/sign-in", status_code=303)

    mounted = jobdeck.mount(app, JOBS_PREFIX, current_user=signed_in, unauthenticated=to_sign_in, settings=settings)
    service = mounted.service
    metadata.create_all(service.db.engine)

    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_form(error: str = "") -> str:
        note = "<p>Wrong name or password.</p>" if error else ""
        return _page(
            "Sign in",
            f"""{note}<form method="post" action="/sign-in">
<label>Name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>
<p>Accounts of this example: clerk / clerk-password, boss / boss-password (admin of jobs).</p>""",
        )

    @app.post("/sign-in")
    def sign_in(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
        known = ACCOUNTS.get(username)
        if known is None or not hmac.compare_digest(known[0], password):
            return RedirectResponse("/sign-in?error=1", status_code=303)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, signed(username), httponly=True, samesite="strict")
        return response

    @app.post("/sign-out")
    def sign_out() -> Response:
        response = RedirectResponse("/sign-in", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        user = signed_in(request)
        if user is None:
            return to_sign_in(request)
        with service.db.read() as conn:
            rows = conn.execute(sa.select(orders).order_by(orders.c.id)).all()
        listed = "".join(f"<li>{html.escape(r.number)}: {html.escape(r.customer)}, {r.amount:.2f}</li>" for r in rows)
        return HTMLResponse(
            _page(
                "Orders",
                f"""<p>Signed in as {html.escape(user.display_name)}.
<a href="{JOBS_PREFIX}/settings/maintenance/jobs">Jobs</a></p>
<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>
<ul>{listed}</ul>
<form method="post" action="/orders">
<label>Customer <input name="customer" required maxlength="100"></label>
<label>Amount <input name="amount" required inputmode="decimal"></label>
<button type="submit">Place the order</button></form>""",
            )
        )

    @app.post("/orders")
    def new_order(
        request: Request, customer: Annotated[str, Form(max_length=100)], amount: Annotated[str, Form(max_length=20)]
    ) -> Response:
        user = signed_in(request)
        if user is None:
            return to_sign_in(request)
        try:
            value = Decimal(amount)
        except InvalidOperation:
            return JSONResponse({"detail": f"{amount!r} is not an amount"}, status_code=422)
        # jobdeck's row for this user first: the order's transaction below holds the database's write lock
        by = service.accounts.adopt(user.username, display_name=user.display_name, is_admin=user.is_admin)
        try:
            with service.db.write() as conn:
                job_id = place_order(conn, customer.strip(), value, by.id)
        except OverCreditLimit as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return RedirectResponse(f"/?job={job_id}", status_code=303)

    @app.get("/orders.json")
    def list_orders(request: Request) -> Response:
        if signed_in(request) is None:
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        with service.db.read() as conn:
            rows = conn.execute(sa.select(orders).order_by(orders.c.number)).all()
        return JSONResponse([{"number": r.number, "customer": r.customer, "amount": f"{r.amount:.2f}"} for r in rows])

    return app


def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""
