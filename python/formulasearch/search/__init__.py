"""The searches: candidate sources, the route skeleton and its routes (paper grammar, SISSO, classification),
slices and backends (local, streamed, Dask), and refinement of found formulas."""
