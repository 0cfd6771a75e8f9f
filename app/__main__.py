"""``slotpool`` / ``python -m app``: the Litestar CLI with Slotpool's app preset."""

from __future__ import annotations

import os


def main() -> None:
    # Every command loads the app, which reads the settings: a mistake in them is one line and
    # exit status 2 here, before the Litestar CLI would print a traceback.
    from app.config import settings_or_exit

    settings_or_exit()
    os.environ.setdefault("LITESTAR_APP", "app.main:create_app")
    from litestar.cli.main import litestar_group

    litestar_group()


if __name__ == "__main__":
    main()
