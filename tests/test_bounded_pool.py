"""The process-pool map of the entry loader: bounded read-ahead, results in order, first error in stream order."""
import pytest

from formulasearch.data.bounded_pool import ordered_map, worker_count


def test_reads_at_most_in_flight_chunks_ahead_and_keeps_order():
    read = []

    def chunks():
        for i in range(30):
            read.append(i)
            yield i

    out = []
    for result in ordered_map(pow, 2, chunks(), workers=2, in_flight=4):  # pow(2, chunk): a picklable builtin
        out.append(result)
        assert len(read) - len(out) <= 3, (len(read), len(out))  # executor.map would have read all 30 by now
    assert out == [2 ** i for i in range(30)]


def test_a_chunk_error_before_a_reader_error_wins_as_in_a_serial_loop():
    def chunks():
        yield 1
        yield "not a number"  # pow(2, "...") fails in a worker
        yield 3
        raise OSError("the file ends early")

    results = ordered_map(pow, 2, chunks(), workers=2, in_flight=8)
    assert next(results) == 2
    with pytest.raises(TypeError):
        next(results)

    def broken():
        yield 1
        raise OSError("the file ends early")

    results = ordered_map(pow, 2, broken(), workers=2, in_flight=8)
    assert next(results) == 2  # the chunk read before the reader failed still comes out
    with pytest.raises(OSError, match="ends early"):
        next(results)


def test_zero_workers_means_every_core():
    assert worker_count(0) >= 1 and worker_count(3) == 3
