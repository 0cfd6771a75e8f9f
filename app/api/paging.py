"""The query parameters of every list endpoint: the page size and the previous page's cursor
(app.pagination makes and reads cursors)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

Limit = Annotated[int, Parameter(ge=1, le=200, description="Items per page")]
Cursor = Annotated[str | None, Parameter(max_length=200, description="next_cursor of the previous page")]
