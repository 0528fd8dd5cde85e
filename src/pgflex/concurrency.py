"""Concurrency across servers: threads, since the Azure SDK and psycopg used here are synchronous."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_concurrently(function: Callable[[T], R], items: Iterable[T], parallelism: int) -> list[R]:
    """``function`` over ``items``, at most ``parallelism`` at a time, results in input order."""
    items = list(items)
    if parallelism <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(parallelism, len(items))) as pool:
        return list(pool.map(function, items))
