"""`python -m examples.orders [--host H] [--port P]`: the example shop with jobdeck at /admin/jobs."""

from __future__ import annotations

import argparse

import uvicorn

from examples.orders.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.orders", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    print(f"Orders example on http://{args.host}:{args.port}/ (jobs at /admin/jobs/); sign in as clerk or boss")
    uvicorn.run(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
