"""The `formulasearch` command."""
from __future__ import annotations

import argparse
import sys
import time

from .data.compounds import SITE_RULES
from .errors import FormulaSearchError, InputError


class TerminalProgress:
    """A progress bar per stage (tqdm: rate and ETA) on stderr, for terminals."""

    def __init__(self, stream=sys.stderr):
        from tqdm import tqdm

        self._tqdm, self.stream, self.bar, self.stage = tqdm, stream, None, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = self._tqdm(total=total, desc=stage, file=self.stream, leave=False, unit_scale=True,
                                  dynamic_ncols=True)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.stage = None


class LogProgress:
    """Progress for a log file or a batch job's output (stderr not a terminal): a plain line at most every
    `interval` seconds, whatever the stage, with the stage's share done, its time so far and its time left
    at the rate since its first report; and a line when a stage that was reported ends. Short runs print
    nothing."""

    def __init__(self, stream=sys.stderr, interval: float = 30.0, clock=time.monotonic):
        self.stream, self.interval, self.clock = stream, interval, clock
        self.stage, self.started, self.first, self.reported = None, 0.0, 0, False
        self.last = clock()  # when the last line was printed (or the run began)

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        if stage != self.stage:
            self.close()
            self.stage, self.started, self.first, self.reported = stage, now, done, False
        if now - self.last >= self.interval:
            spent = now - self.started  # since this stage's first report: its rate from the work done since
            rate = (done - self.first) / spent if spent > 0 else 0.0
            left = f", about {_duration((total - done) / rate)} left" if rate > 0 and done < total else ""
            share = f"{100 * done / total:.0f} %" if total else f"{done:,}"
            self._line(f"{stage}: {share} ({done:,} of {total:,}) after {_duration(spent)}{left}")
            self.reported = True

    def close(self) -> None:
        if self.stage is not None and self.reported:
            self._line(f"{self.stage}: done in {_duration(self.clock() - self.started)}")
        self.stage = None

    def _line(self, text: str) -> None:
        print(f"formulasearch: {text}", file=self.stream, flush=True)
        self.last = self.clock()


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="formulasearch", description="Find simple formulas for a materials property.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a search (default: paper generation 1 on the built-in octet data)")
    p_run.add_argument("config", nargs="?", help="TOML configuration file")
    p_run.add_argument("-o", "--output", help="write the results as JSON here")
    p_run.add_argument("-n", "--top", type=int, default=None, help="models printed per dimension (default: all kept)")
    p_run.add_argument("--threads", type=int, default=None, help="worker threads (default: all cores)")
    p_run.add_argument("-q", "--quiet", action="store_true", help="no progress (a bar on a terminal, else a line at most every 30 s)")
    p_plot = sub.add_parser("plot", help="parity, descriptor map, error and residual plots (PNG and SVG)")
    p_plot.add_argument("results", help="results JSON written by `formulasearch run -o`")
    p_plot.add_argument("-o", "--output", default=".", help="folder for the images (default: here)")
    p_plot.add_argument("--atoms", help="atomic table, if not the one saved with the results")
    p_report = sub.add_parser("report", help="one-page report (.html, .md) or tables (.csv, .json, .parquet)")
    p_report.add_argument("results", help="results JSON written by `formulasearch run -o`")
    p_report.add_argument("-o", "--output", required=True, help="report.html, report.md, models.csv, ...")
    p_report.add_argument("--atoms", help="atomic table, if not the one saved with the results")
    p_show = sub.add_parser("show", help="print the tables of a saved results file")
    p_show.add_argument("results", help="results JSON written by `formulasearch run -o`")
    p_show.add_argument("-n", "--top", type=int, default=None, help="models printed per dimension")
    p_pred = sub.add_parser("predict", help="predict the target for new compounds with a saved run's models")
    p_pred.add_argument("results", help="results JSON written by `formulasearch run -o`")
    p_pred.add_argument("compounds", help="CSV with columns A and B, or a column 'formula' (e.g. GaN, MgO, C); "
                        "for models trained on [data] entries: an entry file or folder")
    p_pred.add_argument("--atoms", help="atomic table CSV (default: the table the results were trained on)")
    p_pred.add_argument("--dimension", type=int, default=None, help="only the best model of this dimension")
    p_pred.add_argument("--model", type=int, default=None, help="only this model (index into the results' models)")
    p_pred.add_argument("--site-rule", choices=SITE_RULES, default="electronegativity",
                        help="site A of a binary formula: the less electronegative element (default) "
                        "or the first written")
    p_pred.add_argument("--task", help="multi-task models: the task of every sample (else each sample's own, "
                        "from the table's task column)")
    p_pred.add_argument("-o", "--output", help="also write the predictions as CSV here")
    args = parser.parse_args(argv)

    try:
        if args.command == "run":
            return _run(args)
        if args.command == "plot":
            from .report.plots import plot_all  # matplotlib: only for this command

            for path in plot_all(args.results, args.output, formats=("png", "svg"), atoms=args.atoms):
                print(path)
            return 0
        if args.command == "report":
            from .report.export import export

            print(export(args.results, args.output, atoms=args.atoms))
            return 0
        if args.command == "predict":
            return _predict(args)
        from .results import load_result

        print(load_result(args.results).summary(args.top))
        return 0
    except FormulaSearchError as exc:
        print(f"formulasearch: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError) as exc:
        print(f"formulasearch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nformulasearch: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from .config import Config
    from .pipeline import run

    config = Config.load(args.config)
    if args.threads is not None:
        config.search.threads = args.threads
        config.validate()
    progress = None if args.quiet else TerminalProgress() if sys.stderr.isatty() else LogProgress()
    try:
        result = run(config, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    print(result.summary(args.top))
    if args.output:
        result.to_json(args.output)
        print(f"\nresults written to {args.output}")
    if result.interrupted:
        print("formulasearch: interrupted; the tables above are partial", file=sys.stderr)
        return 130
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .prediction import predict, predict_entries, trained_on_entries
    from .results import load_result

    if trained_on_entries(load_result(args.results)):  # models of structure/composition features
        if args.task is not None:
            raise InputError("--task does not apply to models trained on entries (one task)")
        table = predict_entries(args.results, args.compounds, dimension=args.dimension, model=args.model)
    else:
        table = predict(args.results, args.compounds, atoms=args.atoms, dimension=args.dimension, model=args.model,
                        site_rule=args.site_rule, tasks=args.task)
    if args.output:
        table.to_csv(args.output, index=False)
    print(table.to_string(index=False))
    if args.output:
        print(f"\npredictions written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
