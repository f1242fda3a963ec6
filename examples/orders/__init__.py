"""A small shop back office that embeds jobdeck: its own `orders` table and sign-in, a job type of its own
(`export_orders`), an import target into `orders`, and the Job Management page at /admin/jobs.

Run it with `make example` (or `python -m examples.orders`); docs/embedding.md explains each part.
"""
