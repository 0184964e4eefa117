"""Exports of a run: the models table (CSV, Parquet), the results (JSON), and a
one-page report (HTML or Markdown) with the figures.

    >>> from formulasearch.report import export
    >>> export(result, "models.csv")      # result.table()
    >>> export(result, "results.json")    # result.to_json
    >>> export(result, "models.parquet")  # result.table(), needs pyarrow
    >>> export(result, "report.html")     # self-contained page: figures inlined, no external resources
    >>> export(result, "report.md")       # figures written next to it as report_<name>.png

The HTML report is one file with nothing fetched from elsewhere: the figures
are ``data:`` URIs (SVG or PNG) and the formulas' LaTeX is drawn with
matplotlib's mathtext into small inline SVG images (no MathJax, no network),
with the LaTeX source as their alt text and the readable formula beside them.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from .._version import __version__
from ..results import SCORE_NAMES, Model, Result, ResultSource, as_result
from . import plots

__all__ = ["export", "html_report", "markdown_report", "top_formulas", "EXPORT_FORMATS"]

#: Extensions export understands.
EXPORT_FORMATS = (".csv", ".json", ".parquet", ".html", ".htm", ".md")


_FIGURE_TITLES = {
    "parity": "Parity: predicted against actual target (training compounds)",
    "descriptor_map": "Descriptor map of the best 2D model",
    "error_vs_dimension": "Error against dimension and complexity",
    "residuals": "Residuals of the best model of the highest dimension",
    "decision_map": "Decision map of the best classifier: classes, their domains and the separator that predicts",
}


def export(result: ResultSource, path: str | os.PathLike, *, top: int = 5, figures: bool = True,
           image_format: str = "svg", dpi: float = 100, title: str | None = None, atoms: Any = None,
           primaries: Any = None) -> Path:
    """Write ``result`` to ``path`` in the format its extension names.

    * ``.csv``: the models table (:meth:`Result.table`), no index column.
    * ``.parquet``: the same table (pandas ``to_parquet``; needs pyarrow).
    * ``.json``: the full results (:meth:`Result.to_json`), readable with
      :func:`formulasearch.load_result`.
    * ``.html`` / ``.htm``: a self-contained one-page report (see
      :func:`html_report`); ``image_format`` "svg" (default) or "png" for the
      figures.
    * ``.md``: the same report in Markdown; the figures are written as PNG
      files next to it, named ``<stem>_<figure>.png``.

    ``top``: models listed per dimension in the reports (refined models are
    listed too). ``figures=False`` leaves the figures out. ``atoms`` /
    ``primaries``: as for :func:`formulasearch.plots.parity`, when the result
    does not carry the atomic values of its training compounds.
    ``result`` may be a :class:`Result` or the path of a results JSON.
    Returns the path written. Parent folders are created.
    """
    result = as_result(result)
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in EXPORT_FORMATS:
        raise InputError(f"{p}: cannot export to {p.suffix or '(no extension)'!r}; "
                         f"use one of {', '.join(EXPORT_FORMATS)}")
    p.parent.mkdir(parents=True, exist_ok=True)
    if ext == ".csv":
        result.table().to_csv(p, index=False)
    elif ext == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("writing Parquet needs pyarrow (pip install pyarrow)") from None
        result.table().to_parquet(p, index=False)
    elif ext == ".json":
        result.to_json(p)
    elif ext in (".html", ".htm"):
        text = html_report(result, top=top, figures=figures, image_format=image_format, dpi=dpi, title=title,
                           atoms=atoms, primaries=primaries)
        p.write_text(text, encoding="utf-8")
    else:
        images: dict[str, str] = {}
        if figures:
            for name, fig in plots.figures(result, dpi=dpi, atoms=atoms, primaries=primaries).items():
                image = p.with_name(f"{p.stem}_{name}.png")
                plots.save_figure(fig, image)
                images[name] = image.name
        p.write_text(markdown_report(result, top=top, images=images, title=title), encoding="utf-8")
    return p


# --------------------------------------------------------------------------
# HTML


def html_report(result: ResultSource, *, top: int = 5, figures: bool = True, image_format: str = "svg",
                dpi: float = 100, title: str | None = None, typeset: bool = True, atoms: Any = None,
                primaries: Any = None) -> str:
    """The one-page HTML report as a string: self-contained (figures as data
    URIs, no scripts, no style sheets or fonts from elsewhere).

    Sections: the data and settings, the top ``top`` models of each dimension
    (RMSE, CV RMSE, MAE, MaxAE, R2, the equation and each formula as text and
    as typeset LaTeX), the nested cross-validation of the whole search when
    the result has one, the figures, notes. ``typeset=False`` shows the LaTeX
    source as text instead of drawing it.
    """
    result = as_result(result)
    if image_format not in ("svg", "png"):
        raise InputError(f"image_format must be 'svg' or 'png', got {image_format!r}")
    e = html.escape
    title = title or f"formulasearch report: {result.target}"
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(title)}</h1>",
    ]
    if result.interrupted:
        out.append('<p class="warning">This run was interrupted: it holds the best models found until then.</p>')

    out.append('<h2 id="data">Data and settings</h2>')
    out.append('<table class="summary">')
    for key, value in _summary_rows(result):
        out.append(f"<tr><th>{e(key)}</th><td>{e(value)}</td></tr>")
    out.append("</table>")
    out.append("<details><summary>Full configuration</summary>")
    out.append(f"<pre>{e(json.dumps(result.config, indent=2, default=str))}</pre>")
    out.append("</details>")

    out.append('<h2 id="models">Models</h2>')
    heads, cells_of, intro, kind = _model_table(result)
    out.append(f"<p>{e(intro)}</p>")
    for d, rows in _models_by_dimension(result, top):
        out.append(f'<h3 id="dim{d}">{d}D {kind}</h3>')
        out.append('<table class="models">')
        out.append("<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in heads) + "<th>model</th></tr></thead><tbody>")
        for label, m in rows:
            out.append("<tr>" + "".join(f'<td class="num">{e(c)}</td>' for c in cells_of(label, m))
                       + f"<td>{_model_html(result, m, typeset)}</td></tr>")
        out.append("</tbody></table>")
    if not result.models:
        out.append("<p>(no models)</p>")

    nested = (result.validation or {}).get("nested")
    if nested:
        out.append('<h2 id="nested">Nested cross-validation of the whole search</h2>')
        out.extend(_nested_html(nested))

    if figures:
        figs = plots.figures(result, dpi=dpi, atoms=atoms, primaries=primaries)
        if figs:
            out.append('<h2 id="figures">Figures</h2>')
        for name, fig in figs.items():
            uri = _data_uri(fig, image_format)
            caption = _FIGURE_TITLES.get(name, name)
            out.append(f'<figure id="fig-{e(name)}"><img class="plot" src="{uri}" alt="{e(caption)}">'
                       f"<figcaption>{e(caption)}</figcaption></figure>")

    notes = list(result.messages)
    if notes:
        out.append('<h2 id="notes">Notes</h2><ul>')
        out.extend(f"<li>{e(str(n))}</li>" for n in notes)
        out.append("</ul>")
    out.append(f'<footer>{e(_footer(result))}</footer>')
    out.append("</body>")
    out.append("</html>")
    return "\n".join(out) + "\n"


def _model_html(result: Result, m: Model, typeset: bool) -> str:
    e = html.escape
    parts = [f'<div class="equation"><code>{e(m.equation(result.target))}</code></div>', '<ol class="formulas">']
    for k, formula in enumerate(m.formulas):
        latex = m.latex[k] if k < len(m.latex) else ""
        unit = m.units[k] if k < len(m.units) and m.units[k] else ""
        image = _latex_img(latex) if (typeset and latex) else None
        item = f'<span class="formula">{e(formula)}</span>'
        if image:
            item += f' <span class="typeset">{image}</span>'
        elif latex:
            item += f' <code class="latex">{e(latex)}</code>'
        if unit:
            item += f' <span class="unit">[{e(unit)}]</span>'
        parts.append(f"<li>D<sub>{k + 1}</sub> = {item}</li>")
    parts.append("</ol>")
    return "".join(parts)


def nested_meaning(nested: dict[str, Any]) -> str:
    """What the nested-CV numbers mean, and how complete they are, in one paragraph."""
    what = "accuracy" if "accuracy" in nested else "error"
    text = (f"This is the {what} to expect from running this search on new data (the search, not one formula, is "
            f"what is validated: each fold may choose other formulas), not the {what} of the formulas printed "
            "above, whose in-sample and cross-validated errors were measured on data that chose them.")
    done, folds = nested.get("folds_completed"), nested.get("folds", 0)
    if nested.get("interrupted") and done is not None:
        text += f" Interrupted: {done} of {folds} outer folds finished; the numbers are over those."
    if nested.get("mode") == "sweep":
        text += " Every fold's search ran in one sweep of the kernels (the same models as rerunning it fold by fold)."
    return text


def _nested_html(nested: dict[str, Any]) -> list[str]:
    e = html.escape
    folds = nested.get("folds", 0)
    out = [f"<p>The whole search was repeated in each of {e(str(folds))} outer folds (seed "
           f"{e(str(nested.get('seed')))}); the best model of each dimension found on the training part was "
           "scored on the held-out part.</p>", f"<p>{e(nested_meaning(nested))}</p>"]
    dims = nested.get("dimensions") or {}
    if dims:
        out.append('<table class="models"><thead><tr><th>dimension</th><th>mean RMSE</th><th>std</th><th>min</th>'
                   "<th>max</th><th>folds</th><th>most selected formulas (folds)</th></tr></thead><tbody>")
        for dim, rep in dims.items():
            chosen = "<br>".join(f"{e(str(f))} ({e(str(c))}/{e(str(folds))})" for f, c in rep.get("most_selected", []))
            cells = [e(str(dim)), _num(rep.get("mean_rmse")), _num(rep.get("std_rmse")), _num(rep.get("min_rmse")),
                     _num(rep.get("max_rmse")), e(str(rep.get("folds_with_model", "")))]
            out.append("<tr>" + "".join(f'<td class="num">{c}</td>' for c in cells) + f"<td>{chosen}</td></tr>")
        out.append("</tbody></table>")
    if "accuracy" in nested:
        out.append(f"<p>{e(_nested_accuracy_text(nested))}</p>")
    for note in nested.get("notes") or []:
        out.append(f'<p class="note">{e(str(note))}</p>')
    return out


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
max-width:1150px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;border-bottom:2px solid #ddd;padding-bottom:.3em}
h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;text-align:left}
thead th{background:#f3f3f3}
table.summary th{background:#f8f8f8;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
ol.formulas{margin:.2em 0;padding-left:1.2em;list-style:none}
ol.formulas li{margin:.15em 0}
.typeset img{vertical-align:middle;margin-left:.6em}
code{font-size:.92em}
.warning{background:#fff3cd;border:1px solid #e0c36a;padding:.5em}
.note{color:#555}
figure{margin:1em 0}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}
footer{margin-top:2em;color:#777;font-size:.85em;border-top:1px solid #eee;padding-top:.5em}
"""


# --------------------------------------------------------------------------
# Markdown


def markdown_report(result: ResultSource, *, top: int = 5, images: dict[str, str] | None = None,
                    title: str | None = None) -> str:
    """The report in (GitHub-flavoured) Markdown. ``images``: figure name ->
    path (relative to the Markdown file) of each image to reference;
    :func:`export` writes them."""
    result = as_result(result)
    title = title or f"formulasearch report: {result.target}"
    out = [f"# {title}", ""]
    if result.interrupted:
        out += ["> **This run was interrupted**: it holds the best models found until then.", ""]
    out += ["## Data and settings", ""]
    out += ["| | |", "|---|---|"]
    out += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in _summary_rows(result)]
    out += [""]
    heads, cells_of, intro, kind = _model_table(result)
    out += ["## Models", "", intro, ""]
    for d, rows in _models_by_dimension(result, top):
        out += [f"### {d}D {kind}", "", "| " + " | ".join(heads) + " | model |",
                "|" + "---:|" * len(heads) + "---|"]
        for label, m in rows:
            out.append("| " + " | ".join(cells_of(label, m)) + f" | `{_md_cell(m.equation(_response(result)))}` |")
        out += ["", "Formulas:", ""]
        for label, m in rows:
            for k, formula in enumerate(m.formulas):
                latex = m.latex[k] if k < len(m.latex) else ""
                line = f"- {label}, D{k + 1}: `{formula}`"
                if latex:
                    line += f" &nbsp; ${latex}$"
                out.append(line)
        out.append("")
    if not result.models:
        out += ["(no models)", ""]
    nested = (result.validation or {}).get("nested")
    if nested:
        folds = nested.get("folds", 0)
        out += ["## Nested cross-validation of the whole search", "",
                f"The whole search was repeated in each of {folds} outer folds (seed {nested.get('seed')}).", "",
                nested_meaning(nested), ""]
        dims = nested.get("dimensions") or {}
        if dims:
            out += ["| dimension | mean RMSE | std | min | max | folds | most selected formulas (folds) |",
                    "|---|---:|---:|---:|---:|---:|---|"]
            for dim, rep in dims.items():
                chosen = "<br>".join(f"`{_md_cell(str(f))}` ({c}/{folds})" for f, c in rep.get("most_selected", []))
                out.append(f"| {dim} | {_num(rep.get('mean_rmse'))} | {_num(rep.get('std_rmse'))} | "
                           f"{_num(rep.get('min_rmse'))} | {_num(rep.get('max_rmse'))} | "
                           f"{rep.get('folds_with_model', '')} | {chosen} |")
            out.append("")
        if "accuracy" in nested:
            out += [_nested_accuracy_text(nested), ""]
        out += [f"- {n}" for n in nested.get("notes") or []]
        if nested.get("notes"):
            out.append("")
    if images:
        out += ["## Figures", ""]
        for name, rel in images.items():
            caption = _FIGURE_TITLES.get(name, name)
            out += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    if result.messages:
        out += ["## Notes", ""] + [f"- {m}" for m in result.messages] + [""]
    out += ["---", "", _footer(result), ""]
    return "\n".join(out)


def _md_cell(text: Any) -> str:
    """Text for a GFM table cell: pipes escaped, no line breaks."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


# --------------------------------------------------------------------------
# shared pieces


def _models_by_dimension(result: Result, top: int) -> list[tuple[int, list[tuple[str, Model]]]]:
    """Per dimension: the top unrefined models (label = rank) and the refined ones (label 'rD.k')."""
    out = []
    top = max(int(top), 0)
    for d in sorted({m.dimension for m in result.models}):
        idx = [i for i, m in enumerate(result.models) if m.dimension == d and m.refined_from is None]
        rows = [(str(rank), result.models[i]) for rank, i in enumerate(idx[:top], start=1)]
        for i, m in enumerate(result.models):
            if m.dimension == d and m.refined_from is not None:
                src = m.refined_from
                label = f"r{d}.{idx.index(src) + 1}" if src in idx else f"r{d}"
                rows.append((label, m))
        out.append((d, rows))
    return out


def top_formulas(result: Result, top: int = 5) -> list[str]:
    """Every formula of the models the reports list (see :func:`export`'s ``top``)."""
    return [f for _, rows in _models_by_dimension(result, top) for _, m in rows for f in m.formulas]


def _summary_rows(result: Result) -> list[tuple[str, str]]:
    cfg = result.config if isinstance(result.config, dict) else {}
    data = cfg.get("data") or {}
    feats = cfg.get("features") or {}
    search = cfg.get("search") or {}
    refine = cfg.get("refine") or {}
    rows: list[tuple[str, str]] = []
    source = ", ".join(f"{k} = {v}" for k, v in data.items() if v not in (None, "", [], {})) or "(not recorded)"
    rows.append(("data", source))
    y = [float(v) for v in result.target_values if v is not None and math.isfinite(float(v))]
    if y:
        mean = sum(y) / len(y)
        rows.append(("target", f"{result.target}: {len(result.target_values)} samples, min {min(y):.4g}, "
                               f"max {max(y):.4g}, mean {mean:.4g}"))
    else:
        rows.append(("target", result.target))
    if result.variables:
        rows.append(("primary variables", f"{len(result.variables)}: {', '.join(map(str, result.variables))}"))
    if feats:
        keys = [k for k in ("generator", "method", "variant", "rung", "dedup", "max_complexity") if k in feats]
        rows.append(("features", ", ".join(f"{k} = {feats[k]}" for k in keys)))
    rows.append(("candidates", f"{result.n_candidates:,} generated, {result.n_kept:,} kept after filters"))
    if result.screening:
        rows.append(("screening (dropped)", ", ".join(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}"
                                                       for k, v in result.screening.items())))
    if result.feature_space:
        size = result.feature_space.get("size")
        if size is not None:
            rows.append(("feature space", f"{size:,} features" if isinstance(size, int) else str(size)))
    if result.task == "classification":
        c = cfg.get("classification") or {}
        keys = [k for k in ("score", "class_weight", "classes", "max_dim", "top_2d", "top_3d", "max_pair_corr", "l2")
                if k in c]
        rows.append(("search", "classification: " + ", ".join(f"{k} = {c[k]}" for k in keys)
                     + f", keep = {search.get('keep')}"))
    elif search:
        keys = [k for k in ("method", "max_dim", "top_2d", "top_3d", "top_nd", "n_sis", "keep") if k in search
                and (k != "top_nd" or int(search.get("max_dim", 3)) >= 4)]
        rows.append(("search", ", ".join(f"{k} = {search[k]}" for k in keys)))
    rows.append(("validation", _cv_text(result)))
    if refine:
        rows.append(("refinement", "on" + (f" ({refine.get('models')} models)" if refine.get("models") else "")
                     if refine.get("enabled") else "off"))
    n_dims = {m.dimension for m in result.models}
    rows.append(("models", f"{len(result.models)} kept, dimensions {', '.join(map(str, sorted(n_dims))) or '-'}"))
    if result.timings:
        total = sum(float(v) for v in result.timings.values())
        rows.append(("time", f"{total:.2f} s (" + ", ".join(f"{k} {float(v):.2f} s" for k, v in result.timings.items())
                     + ")"))
    backend = result.backend.get("name", "local") if isinstance(result.backend, dict) else str(result.backend)
    rows.append(("resources", f"{result.threads} threads, peak memory {result.peak_memory_mb:.0f} MB, "
                              f"backend {backend}"))
    return rows


def _response(result: Result) -> str:
    """What a model's linear combination gives: the target, or a classifier's separating score."""
    return "score" if result.task == "classification" else result.target


def _model_table(result: Result):
    """(column heads, cells of one model row, introduction, "models" / "classifiers") of the models table."""
    if result.task != "classification":
        intro = (f"Fit: {result.target} = c0 + sum_i c_i D_i, least squares on all {len(result.target_values) or '?'} "
                 f"training samples. RMSE, MAE, MaxAE, R2 are in-sample; CV RMSE is the out-of-sample RMSE of the "
                 f"fixed formulas ({_cv_text(result)}).")
        return (["rank", "RMSE", "CV RMSE", "MAE", "MaxAE", "R2"],
                lambda label, m: [label, _num(m.rmse), _num(m.cv_rmse), _num(m.mae), _num(m.maxae), _num(m.r2, 4)],
                intro, "models")
    counts = ", ".join(f"{name} ({result.class_labels.count(k)})" for k, name in enumerate(result.classes))
    score = (result.config.get("classification") or {}).get("score", "overlap")
    k = (result.validation.get("settings") or {}).get("k", "?")
    side = f"score > 0 predicts {result.classes[1]}" if len(result.classes) == 2 else \
        "the class with the largest one-vs-rest score is predicted"
    separator = ("the accuracy separator: the exact best threshold of one formula, or the best threshold along a "
                 "linear SVM's normal for two or three" if score == "accuracy" else
                 "logistic regression on all samples")
    intro = (f"Classes of {result.target}: {counts}; ranked by {SCORE_NAMES.get(score, score)}. "
             f"Overlap: samples inside or on another class's domain (interval or convex hull), then its size "
             f"(negative: the gap between domains). Separator: score = c0 + sum_i c_i D_i by {separator} "
             f"({side}); threshold: one formula, its value where the predicted class changes; more, t in "
             f"sum_i c_i D_i > t. CV accuracy: stratified {k}-fold, formulas fixed, separator refit.")

    def cells(label: str, m: Model) -> list[str]:
        c = m.classification
        t = c.get("threshold")
        threshold = "" if t is None else ", ".join(_num(v, 4) for v in t) if isinstance(t, list) else _num(t, 4)
        return [label, str(c.get("overlap_count", "")), _num(c.get("overlap_size"), 4), _num(c.get("log_loss"), 4),
                _num(c.get("accuracy"), 3), _num(c.get("balanced_accuracy"), 3), threshold,
                _confusion_text(c.get("confusion")), _num(c.get("cv_accuracy"), 3)]

    return (["rank", "overlap", "size", "log-loss", "accuracy", "balanced acc.", "threshold", "confusion (rows: true)",
             "CV accuracy"], cells, intro, "classifiers")


def _confusion_text(matrix: list[list[int]] | None) -> str:
    """A confusion matrix in one cell: its rows (true classes) separated by ' / '."""
    return "" if not matrix else " / ".join(" ".join(str(v) for v in row) for row in matrix)


def _nested_accuracy_text(nested: dict[str, Any]) -> str:
    return (f"Accuracy on the held-out compounds: {nested['accuracy']:.3f} "
            f"({nested.get('correct')}/{nested.get('n_samples')}).")


def _cv_text(result: Result) -> str:
    v = result.validation or {}
    method = v.get("method") or next((m.cv_method for m in result.models if m.cv_method), "")
    s = v.get("settings") or {}
    if not method or method == "none":
        return "no per-model validation"
    if method == "loo":
        text = "leave-one-out"
    elif method == "kfold":
        text = f"{s.get('k', '?')}-fold, seed {s.get('seed', '?')}"
    elif method == "splits":
        text = (f"{s.get('n_splits', '?')} random splits with {s.get('test_fraction', '?')} held out, "
                f"seed {s.get('seed', '?')}")
    else:
        text = str(method)
    if v.get("nested"):
        text += f"; nested CV of the whole search, {v['nested'].get('folds', '?')} outer folds"
    return text


def _footer(result: Result) -> str:
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    return f"Written by formulasearch {__version__} (results schema {result.schema_version}) on {stamp}."


def _num(x: Any, digits: int = 5) -> str:
    if x is None:
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    if not math.isfinite(v):
        return ""
    return f"{v:.{digits}f}"


def _data_uri(fig: Any, fmt: str) -> str:
    import matplotlib

    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else None
    with matplotlib.rc_context({"svg.hashsalt": "formulasearch"}):
        fig.savefig(buf, format=fmt, dpi=fig.dpi, metadata=metadata)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


_LATEX_CACHE: dict[str, str | None] = {}


def _latex_img(latex: str) -> str | None:
    """An <img> of the LaTeX drawn by matplotlib's mathtext (inline SVG data URI), or None if mathtext cannot."""
    if latex in _LATEX_CACHE:
        return _LATEX_CACHE[latex]
    try:
        import matplotlib
        from matplotlib.font_manager import FontProperties
        from matplotlib.mathtext import math_to_image

        buf = io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": "formulasearch", "svg.fonttype": "path"}):
            math_to_image(f"${latex}$", buf, prop=FontProperties(size=12), dpi=100, format="svg")
        uri = "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        tag = f'<img class="latex" src="{uri}" alt="{html.escape(latex)}" title="{html.escape(latex)}">'
    except Exception:  # a construct mathtext does not know: the caller shows the LaTeX source
        tag = None
    _LATEX_CACHE[latex] = tag
    return tag
