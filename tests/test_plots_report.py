"""Tests of formulasearch.plots (figures) and formulasearch.report (exports and reports)."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402  (pillow comes with matplotlib)

import formulasearch as fs  # noqa: E402
from formulasearch import plots  # noqa: E402
from formulasearch.errors import InputError  # noqa: E402
from formulasearch.prediction import descriptor_values, fitted  # noqa: E402
from formulasearch.report import export, html_report, top_formulas  # noqa: E402
from reference_numpy import close, load_octet, numpy_value, octet_dir  # noqa: E402

CONFIG = {"validation": {"nested": True, "outer_folds": 3}, "refine": {"enabled": True}}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def numpy_prediction(m, columns):
    return m.intercept + sum(c * numpy_value(code, columns) for c, code in zip(m.coefficients, m.codes))


@pytest.fixture(scope="module")
def octet():
    """({variable: values}, y, labels) read from the octet CSVs by the oracle."""
    matrix, names, _, y, labels = load_octet(octet_dir())
    return dict(zip(names, matrix)), y, labels


@pytest.fixture(scope="module")
def result():
    """A 1-3D run with per-model CV, nested CV (3 outer folds) and refined models, read back from JSON."""
    return fs.run(CONFIG)


@pytest.fixture(scope="module")
def saved(result, tmp_path_factory):
    path = tmp_path_factory.mktemp("results") / "results.json"
    result.to_json(path)
    return fs.load_result(path), path


@pytest.fixture(scope="module")
def result_1d():
    return fs.run({"search": {"max_dim": 1}, "validation": {"nested": False}})


def check_png(path, size):
    data = open(path, "rb").read()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC), path
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert size is None or im.size == size, (im.size, size)
        assert im.getextrema() != ((255, 255),) * len(im.getbands())  # not blank


def check_svg(path_or_bytes):
    root = ET.parse(path_or_bytes).getroot() if not isinstance(path_or_bytes, bytes) \
        else ET.fromstring(path_or_bytes)
    assert root.tag.endswith("svg")
    return root


def gid_collection(fig, gid):
    found = [c for ax in fig.axes for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, [c.get_gid() for ax in fig.axes for c in ax.collections]
    return found[0]


# --------------------------------------------------------------------------
# helpers of predict.py


def test_fitted_reproduces_every_models_rmse(saved):
    result, _ = saved
    y = np.asarray(result.target_values)
    for i, m in enumerate(result.models):
        pred = fitted(result, i)
        assert pred.shape == y.shape
        assert abs(np.sqrt(np.mean((pred - y) ** 2)) - m.rmse) < 1e-9
        assert descriptor_values(result, i).shape == (m.dimension, y.size)


def test_descriptor_values_match_numpy(saved, octet):
    result, path = saved
    columns, y, labels = octet
    assert list(result.labels) == list(labels) and close(result.target_values, y)
    for i in (0, next(i for i, m in enumerate(result.models) if m.dimension == 3), len(result.models) - 1):
        m = result.models[i]
        expect = np.vstack([numpy_value(code, columns) for code in m.codes])
        assert close(descriptor_values(result, i), expect)
        assert close(descriptor_values(path, m), expect)  # path and Model accepted too


# --------------------------------------------------------------------------
# figures: files


@pytest.mark.parametrize("name", ["parity", "descriptor_map", "error_vs_dimension", "residuals"])
def test_each_plot_writes_png_of_the_right_size_and_svg(saved, tmp_path, name):
    result, _ = saved
    func = getattr(plots, name)
    w = 2 if name == "error_vs_dimension" else 1  # two panels side by side
    fig = func(result, path=tmp_path / f"{name}.png", dpi=80, figsize=(5 * w, 4))
    assert fig.__class__.__name__ == "Figure"
    check_png(tmp_path / f"{name}.png", (400 * w, 320))
    func(result, path=tmp_path / "sub" / f"{name}.svg", figsize=(6 * w, 3.5))
    check_svg(tmp_path / "sub" / f"{name}.svg")
    func(result, path=tmp_path / f"{name}_150.png", dpi=150, figsize=(4 * w, 3))
    check_png(tmp_path / f"{name}_150.png", (600 * w, 450))


def test_unknown_image_format_is_refused(saved, tmp_path):
    with pytest.raises(InputError, match="unknown figure format"):
        plots.parity(saved[0], path=tmp_path / "x.jpeg")


def test_plot_all_writes_every_figure(saved, tmp_path):
    result, path = saved
    written = plots.plot_all(path, tmp_path / "figs")  # a results path is accepted
    assert [p.name for p in written] == [f"{n}.{ext}" for n in plots.PLOTS for ext in ("png", "svg")]
    for p in written:
        if p.suffix == ".svg":
            check_svg(p)
        else:
            check_png(p, None)
    check_png(tmp_path / "figs" / "parity.png", (550, 500))  # default figsize (5.5, 5) at 100 dpi
    pngs = plots.plot_all(result, tmp_path / "png", formats=("png",), dpi=50, prefix="run1_")
    assert [p.name for p in pngs] == [f"run1_{n}.png" for n in plots.PLOTS]
    with pytest.raises(InputError):
        plots.plot_all(result, tmp_path / "bad", formats=("gif",))


def test_plot_all_without_a_2d_model_skips_the_descriptor_map(result_1d, tmp_path):
    written = plots.plot_all(result_1d, tmp_path, formats=("png",))
    assert [p.stem for p in written] == ["parity", "error_vs_dimension", "residuals"]
    with pytest.raises(InputError, match="needs a 2D model"):
        plots.descriptor_map(result_1d)


# --------------------------------------------------------------------------
# figures: the data drawn


def test_parity_points_are_the_numpy_predictions(saved, octet):
    result, _ = saved
    columns, y, _ = octet
    fig = plots.parity(result)
    top = max(m.dimension for m in result.models)
    i = next(k for k, m in enumerate(result.models) if m.dimension == top)
    xy = gid_collection(fig, f"parity:{i}").get_offsets()
    pred = numpy_prediction(result.models[i], columns)
    assert close(xy[:, 0], y) and close(xy[:, 1], pred)
    rmse = np.sqrt(np.mean((pred - y) ** 2))
    assert f"RMSE = {rmse:.4g}" in fig.axes[0].get_title()
    line = [ln for ln in fig.axes[0].lines if ln.get_label() == "y = x"][0]
    assert np.allclose(line.get_xdata(), line.get_ydata())


def test_parity_overlays_several_models(saved, octet):
    result, _ = saved
    columns, y, _ = octet
    refined = next(i for i, m in enumerate(result.models) if m.refined_from is not None)
    fig = plots.parity(result, [0, refined])
    for i in (0, refined):
        xy = gid_collection(fig, f"parity:{i}").get_offsets()
        assert close(xy[:, 1], numpy_prediction(result.models[i], columns))
    assert len(fig.axes[0].get_legend().get_texts()) == 3  # two models and y = x
    fig = plots.parity(result, "best")
    dims = sorted({m.dimension for m in result.models})
    assert len([c for c in fig.axes[0].collections if str(c.get_gid()).startswith("parity:")]) == len(dims)
    for d in dims:
        assert f"{d}D #1" in fig.axes[0].get_title()


def test_descriptor_map_axes_are_the_two_formulas(saved, octet):
    result, _ = saved
    columns, y, _ = octet
    names = list(result.variables)
    matrix = np.vstack([columns[v] for v in names])
    i = next(k for k, m in enumerate(result.models) if m.dimension == 2)
    m = result.models[i]
    x1, x2 = (fs.Formula.from_postfix(code, names).evaluate(matrix) for code in m.codes)
    assert close(x1, numpy_value(m.codes[0], columns)) and close(x2, numpy_value(m.codes[1], columns))
    fig = plots.descriptor_map(result, labels=True)
    neg = gid_collection(fig, "descriptor_map:negative").get_offsets()
    pos = gid_collection(fig, "descriptor_map:positive").get_offsets()
    assert close(neg[:, 0], x1[y < 0]) and close(neg[:, 1], x2[y < 0])
    assert close(pos[:, 0], x1[y >= 0]) and close(pos[:, 1], x2[y >= 0])
    assert len(neg) + len(pos) == y.size
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("rocksalt" in t for t in legend) and any("zincblende" in t for t in legend)
    assert {t.get_text() for t in fig.axes[0].texts} == set(result.labels)
    # another 2D model by index; a model of another dimension is refused
    j = [k for k, mm in enumerate(result.models) if mm.dimension == 2][1]
    fig = plots.descriptor_map(result, j)
    assert close(gid_collection(fig, "descriptor_map:negative").get_offsets()[:, 0],
                 numpy_value(result.models[j].codes[0], columns)[y < 0])
    with pytest.raises(InputError, match="is 1D"):
        plots.descriptor_map(result, 0)


def test_error_vs_dimension_data(saved):
    result, _ = saved
    fig = plots.error_vs_dimension(result)
    assert len(fig.axes) == 2
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.lines if ln.get_gid()}
    dims = sorted({m.dimension for m in result.models})
    best = [next(m for m in result.models if m.dimension == d and m.refined_from is None) for d in dims]
    assert list(lines["error:rmse"].get_xdata()) == dims
    assert close(lines["error:rmse"].get_ydata(), [m.rmse for m in best])
    assert close(lines["error:cv_rmse"].get_ydata(), [m.cv_rmse for m in best])
    nested = result.validation["nested"]["dimensions"]
    assert close(lines["error:nested"].get_ydata(), [nested[f"{d}D"]["mean_rmse"] for d in dims])
    for d in dims:
        coll = gid_collection(fig, f"complexity:{d}D:rmse")
        ms = [m for m in result.models if m.dimension == d]
        expect = [sum(fs.Formula.from_postfix(c, result.variables).complexity for c in m.codes) for m in ms]
        assert close(coll.get_offsets()[:, 0], expect) and close(coll.get_offsets()[:, 1], [m.rmse for m in ms])
    assert len(plots.error_vs_dimension(result, by="dimension").axes) == 1
    with pytest.raises(InputError):
        plots.error_vs_dimension(result, by="size")


@pytest.mark.parametrize("kind", ["bar", "scatter"])
def test_residuals_and_the_worst_labels(saved, octet, kind):
    result, _ = saved
    columns, y, labels = octet
    fig = plots.residuals(result, 0, label_worst=4, kind=kind)
    res = y - numpy_prediction(result.models[0], columns)
    ax = fig.axes[0]
    if kind == "bar":
        heights = [p.get_height() for p in ax.patches if p.get_gid() == "residuals"]
        assert close(heights, res)
    else:
        assert close(gid_collection(fig, "residuals").get_offsets()[:, 1], res)
    worst = {labels[i] for i in np.argsort(-np.abs(res))[:4]}
    assert {t.get_text() for t in ax.texts} == worst
    assert not plots.residuals(result, label_worst=0).axes[0].texts


def test_plots_with_primaries_when_the_result_has_no_compounds(octet, tmp_path):
    columns, y, _ = octet
    prim = fs.build_primaries(fs.datasets.octet(), None)
    result = fs.run({"search": {"max_dim": 2}, "validation": {"nested": False}}, primaries=prim)
    assert not result.compounds
    with pytest.raises(InputError, match="primaries"):
        plots.parity(result)
    fig = plots.parity(result, primaries=prim)
    top = next(i for i, m in enumerate(result.models) if m.dimension == 2)
    xy = gid_collection(fig, f"parity:{top}").get_offsets()
    assert close(xy[:, 1], numpy_prediction(result.models[top], columns))
    names = [p.stem for p in plots.plot_all(result, tmp_path / "a", formats=("png",))]
    assert names == ["error_vs_dimension"]  # the others need the training values
    names = [p.stem for p in plots.plot_all(result, tmp_path / "b", formats=("png",), primaries=prim)]
    assert names == list(plots.PLOTS)


def test_importing_formulasearch_does_not_import_matplotlib():
    code = textwrap.dedent("""
        import sys
        import formulasearch, formulasearch.report.plots, formulasearch.report, formulasearch.prediction
        assert "matplotlib" not in sys.modules, "matplotlib imported"
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --------------------------------------------------------------------------
# exports


def _same_table(read: pd.DataFrame, table: pd.DataFrame):
    assert list(read.columns) == list(table.columns)
    assert len(read) == len(table)
    for col in table.columns:
        a, b = read[col].tolist(), table[col].tolist()
        for u, v in zip(a, b):
            missing_u = u is None or (isinstance(u, float) and np.isnan(u))
            missing_v = v is None or (isinstance(v, float) and np.isnan(v))
            assert missing_u == missing_v, (col, u, v)
            if missing_u:
                continue
            if isinstance(v, str):
                assert u == v, (col, u, v)
            else:
                assert float(u) == float(v), (col, u, v)


def test_export_csv_json_parquet_round_trip_the_models_table(saved, tmp_path):
    result, path = saved
    table = result.table()
    assert export(result, tmp_path / "models.csv") == tmp_path / "models.csv"
    _same_table(pd.read_csv(tmp_path / "models.csv"), table)
    export(result, tmp_path / "out" / "results.json")
    back = fs.load_result(tmp_path / "out" / "results.json")
    pd.testing.assert_frame_equal(back.table(), table)
    assert back.to_dict() == result.to_dict()
    pytest.importorskip("pyarrow")
    export(path, tmp_path / "models.parquet")  # from a results path
    _same_table(pd.read_parquet(tmp_path / "models.parquet"), table)
    with pytest.raises(InputError, match="cannot export"):
        export(result, tmp_path / "models.xlsx")


class StrictHTML(HTMLParser):
    """Collects text, images and links; fails on unbalanced or misnested tags."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.images, self.urls, self.tags, self.errors = [], [], [], [], [], []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        for key in ("src", "href", "action", "data", "poster"):
            if key in attrs:
                self.urls.append(attrs[key])
        if tag == "img":
            self.images.append(attrs)
        if tag not in self.VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> at {self.getpos()} closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_html(text):
    p = StrictHTML()
    p.feed(text)
    p.close()
    assert not p.errors, p.errors[:5]
    assert not p.stack, p.stack[:5]
    assert p.doctype and p.doctype.lower() == "doctype html"
    return p


@pytest.mark.parametrize("image_format", ["svg", "png"])
def test_html_report_is_self_contained_and_complete(saved, tmp_path, image_format):
    result, _ = saved
    out = export(result, tmp_path / "report.html", image_format=image_format)
    text = out.read_text(encoding="utf-8")
    p = parse_html(text)
    assert "http://" not in text and "https://" not in text
    assert not {"script", "link", "iframe", "object", "embed"} & set(p.tags)
    assert all(u.startswith("data:") or u.startswith("#") for u in p.urls), [u[:40] for u in p.urls]
    body = " ".join(p.text)
    formulas = top_formulas(result, 5)
    assert formulas and all(f in body for f in formulas)
    listed = [m for m in result.models if m.refined_from is not None]
    for d in {m.dimension for m in result.models}:
        listed += [m for m in result.models if m.dimension == d and m.refined_from is None][:5]
    for m in listed:  # every model listed has its metrics
        assert all(f"{v:.5f}" in body for v in (m.rmse, m.cv_rmse, m.mae, m.maxae))
    # the nested-CV report
    assert "Nested cross-validation" in body
    for dim, rep in result.validation["nested"]["dimensions"].items():
        assert f"{rep['mean_rmse']:.5f}" in body
    # the four figures, embedded and readable
    figures = [img for img in p.images if img.get("class") == "plot"]
    assert len(figures) == len(plots.PLOTS)
    assert all(img["src"].startswith(f"data:image/{image_format}") for img in figures)
    for img in figures:
        raw = base64.b64decode(img["src"].split(",", 1)[1])
        if image_format == "png":
            with Image.open(io.BytesIO(raw)) as im:
                assert im.format == "PNG" and im.size[0] > 100
        else:
            check_svg(raw)
    # typeset LaTeX: alt text is the LaTeX source
    latex = [img for img in p.images if img.get("class") == "latex"]
    alts = {img["alt"] for img in latex}
    assert alts <= {tex for m in result.models for tex in m.latex} and result.models[0].latex[0] in alts
    assert latex and all(check_svg(base64.b64decode(img["src"].split(",", 1)[1])) is not None for img in latex[:3])
    # the string form is the same report
    assert html_report(result, figures=False).count("<figure") == 0


def test_html_report_without_latex_images_shows_the_source(saved):
    result, _ = saved
    text = html_report(result, figures=False, typeset=False)
    p = parse_html(text)
    assert not p.images
    assert result.models[0].latex[0] in " ".join(p.text)


def test_markdown_report_references_images_that_exist(saved, tmp_path):
    result, path = saved
    out = export(path, tmp_path / "docs" / "report.md")
    text = out.read_text(encoding="utf-8")
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(refs) == len(plots.PLOTS)
    for ref in refs:
        assert not os.path.isabs(ref) and "://" not in ref
        image = out.parent / ref
        assert image.exists() and open(image, "rb").read(8) == PNG_MAGIC
    for f in top_formulas(result, 5):
        assert f"`{f}`" in text
    assert "Nested cross-validation" in text
    # table rows: pipes inside formulas are escaped, so every model row has 7 cells
    rows = [ln for ln in text.splitlines() if re.match(r"\| (\d+|r\d\.\d+) \|", ln)]
    assert rows and all(len(re.split(r"(?<!\\)\|", ln)) == 9 for ln in rows)
    assert not export(result, tmp_path / "plain.md", figures=False).read_text().count("![")


# --------------------------------------------------------------------------
# a real browser, when there is one


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="no chromium / chromium-browser on PATH")
def test_html_report_opens_in_headless_chromium(saved, tmp_path):
    result, _ = saved
    out = export(result, tmp_path / "report.html")
    proc = subprocess.run(
        [_chromium(), "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={tmp_path / 'profile'}",
         "--dump-dom", out.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "<html" in dom and "</html>" in dom
    assert "formulasearch report" in dom
    assert result.models[0].formulas[0] in dom.replace("&amp;", "&")
    assert dom.count("<figure") == len(plots.PLOTS)
