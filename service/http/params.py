"""Path parameters shared by the HTTP routes."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

#: A row id: SQLite integers are 64-bit, and a larger number is refused with 400 before it
#: reaches the database (where it raised OverflowError, answered 500; found by schemathesis).
RowId = Annotated[int, Parameter(ge=1, le=2**63 - 1)]
