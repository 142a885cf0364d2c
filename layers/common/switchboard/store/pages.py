"""A page request and a page result, shared by every dialect's list endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class PageRequest(BaseModel):
    size: int | None  # None: no paging, everything in one reply
    start_key: str | None = None


class Page(BaseModel):
    items: list[Any]
    start_key: str | None = None
    next_start_key: str | None = None
