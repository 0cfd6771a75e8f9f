"""``slotpool`` / ``python -m app``: the Litestar CLI with Slotpool's app preset."""

from __future__ import annotations

import os


def main() -> None:
    os.environ.setdefault("LITESTAR_APP", "app.main:create_app")
    from litestar.cli.main import litestar_group

    litestar_group()


if __name__ == "__main__":
    main()
