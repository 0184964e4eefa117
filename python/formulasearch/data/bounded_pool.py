"""An ordered map over a stream of chunks on a process pool, with a bounded number of chunks in flight.

``executor.map`` submits every item of its iterable at once, so a stream of
millions of entries would sit in memory as pending work. :func:`ordered_map`
reads the next chunk only when fewer than `in_flight` are submitted, and yields
the results in submission order, so a caller sees exactly what a serial loop
over the chunks would have produced.
"""
from __future__ import annotations

import os
from collections import deque
from typing import Any, Callable, Iterator, TypeVar

__all__ = ["ordered_map", "worker_count"]

T = TypeVar("T")


def worker_count(workers: int) -> int:
    """`workers`, with 0 meaning every core this process may run on."""
    if workers != 0:
        return workers
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(fn: Callable[..., T], common: Any, chunks: Iterator[Any], workers: int,
                in_flight: int) -> Iterator[T]:
    """``fn(common, chunk)`` for each chunk, computed by `workers` processes, yielded in the chunks' order.

    `fn`, `common` and the chunks must be picklable. At most `in_flight` chunks
    are submitted and not yet yielded at a time. An error of a chunk is raised
    when its turn comes; an error of the `chunks` iterator itself is raised
    after the chunks read before it, so the first error in stream order wins,
    as in a serial loop.
    """
    from concurrent.futures import ProcessPoolExecutor

    pending: deque = deque()
    reader_error: Exception | None = None
    pool = ProcessPoolExecutor(max_workers=workers)
    try:
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 -- re-raised once the chunks before it are done
                reader_error = exc
                break
            pending.append(pool.submit(fn, common, chunk))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
        if reader_error is not None:
            raise reader_error
    finally:
        # on an error or an abandoned generator: drop the queued chunks, wait only for the running ones
        pool.shutdown(wait=True, cancel_futures=True)
