// formulasearch._core: the thin pybind11 layer over the C++ core.
// Converts numpy arrays in and out, releases the GIL around every kernel, and
// turns C++ argument errors into Python ValueError.
#include <pybind11/numpy.h>
#include <pybind11/operators.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <limits>
#include <optional>
#include <stdexcept>

#include "formulasearch/classification.hpp"
#include "formulasearch/combination_search.hpp"
#include "formulasearch/formula.hpp"
#include "formulasearch/gram.hpp"
#include "formulasearch/model.hpp"
#include "formulasearch/paper_generator.hpp"
#include "formulasearch/screening.hpp"
#include "formulasearch/sisso_space.hpp"
#include "formulasearch/streamed_search.hpp"
#include "formulasearch/validation.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;
using namespace formulasearch;

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

Array matrix_of(std::vector<double> data, std::size_t rows, std::size_t cols) {
    Array out({rows, cols});
    std::copy(data.begin(), data.end(), out.mutable_data());
    return out;
}

Primaries primaries_of(const Array& matrix, std::vector<std::string> names, std::vector<std::vector<int>> classes) {
    if (matrix.ndim() != 2) throw std::invalid_argument("primary matrix must be 2-D (variables x samples)");
    Primaries p;
    p.n_vars = static_cast<std::size_t>(matrix.shape(0));
    p.n_samples = static_cast<std::size_t>(matrix.shape(1));
    p.values.assign(matrix.data(), matrix.data() + matrix.size());
    p.names = std::move(names);
    p.classes = std::move(classes);
    return p;
}

// Python progress callback: fn(stage, done, total) -> None or bool (False stops).
// Also polls for Ctrl-C. A Python exception (KeyboardInterrupt included) stops
// the kernel and is re-raised once the kernel has returned.
class PyProgress final : public Progress {
public:
    explicit PyProgress(py::object fn) : fn_(std::move(fn)) {}
    bool update(const char* stage, std::uint64_t done, std::uint64_t total) override {
        py::gil_scoped_acquire gil;
        try {
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            if (!fn_.is_none()) {
                py::object r = fn_(stage, done, total);
                if (!r.is_none() && !r.cast<bool>()) return false;
            }
        } catch (py::error_already_set& e) {
            error_ = std::move(e);
            return false;
        }
        return true;
    }
    // Re-raise a Python error from the callback, except Ctrl-C: then the
    // kernel's partial result is returned and interrupted() says so.
    void rethrow() {
        if (error_) {
            if (error_->matches(PyExc_KeyboardInterrupt)) {
                interrupted_ = true;
                error_.reset();
                return;
            }
            py::error_already_set e = std::move(*error_);
            error_.reset();
            throw e;
        }
    }
    bool interrupted() const { return interrupted_; }
    ~PyProgress() override {
        if (error_) {
            py::gil_scoped_acquire gil;
            error_.reset();
        }
    }

private:
    py::object fn_;
    std::optional<py::error_already_set> error_;
    bool interrupted_ = false;
};

Dedup dedup_of(const std::string& s) {
    if (s == "string") return Dedup::String;
    if (s == "value") return Dedup::Value;
    throw std::invalid_argument("dedup must be 'string' or 'value', not '" + s + "'");
}

PaperVariant variant_of(const std::string& s) {
    if (s == "paper") return PaperVariant::Paper;
    if (s == "classes") return PaperVariant::Classes;
    throw std::invalid_argument("variant must be 'paper' or 'classes', not '" + s + "'");
}

py::dict search_result_dict(const SearchResult& r, int dim) {
    py::array_t<std::uint32_t> members({r.best.size(), static_cast<std::size_t>(dim)});
    py::array_t<double> r2(r.best.size());
    for (std::size_t i = 0; i < r.best.size(); ++i) {
        for (int d = 0; d < dim; ++d) members.mutable_at(i, d) = r.best[i].members[d];
        r2.mutable_at(i) = r.best[i].r2;
    }
    py::dict out;
    out["members"] = members;
    out["r2"] = r2;
    out["n_combinations"] = r.n_combinations;
    out["n_scored"] = r.n_scored;
    out["gram_flops"] = r.gram_flops;
    out["seconds"] = r.seconds;
    out["peak_bytes"] = r.peak_bytes;
    out["cancelled"] = r.cancelled;
    return out;
}

SearchOptions search_options(double max_pair_corr, std::size_t keep, std::size_t tile, double singular_tol,
                             std::size_t first, std::optional<std::size_t> last, std::size_t sample_block) {
    SearchOptions opt;
    opt.sample_block = sample_block;
    opt.max_pair_corr = max_pair_corr;
    opt.keep = keep;
    opt.tile = tile;
    opt.singular_tol = singular_tol;
    opt.first = first;
    if (last) opt.last = *last;
    return opt;
}

py::dict search_set(const StandardizedSet& set, int dim, const SearchOptions& opt, py::object progress) {
    PyProgress p(std::move(progress));
    SearchResult r;
    {
        py::gil_scoped_release release;
        r = dim == 2 ? search_pairs(set, opt, &p) : search_triples(set, opt, &p);
    }
    p.rethrow();
    py::dict out = search_result_dict(r, dim);
    out["interrupted"] = p.interrupted();
    return out;
}

std::unique_ptr<StandardizedSet> set_of(const Array& values, const Array& target) {
    if (values.ndim() != 2) throw std::invalid_argument("values must be 2-D (candidates x samples)");
    const auto m = static_cast<std::size_t>(values.shape(0)), n = static_cast<std::size_t>(values.shape(1));
    if (target.ndim() != 1 || static_cast<std::size_t>(target.shape(0)) != n)
        throw std::invalid_argument("target length does not match the samples of values");
    py::gil_scoped_release release;
    return std::make_unique<StandardizedSet>(values.data(), m, n, target.data());
}

Array evaluate_source(const CandidateSource& g, const std::vector<std::uint64_t>& indices) {
    std::vector<double> v;
    {
        py::gil_scoped_release release;
        for (auto i : indices)
            if (i >= g.size()) throw std::out_of_range("candidate index out of range");
        v = evaluate_candidates(g, indices);
    }
    return matrix_of(std::move(v), indices.size(), g.n_samples());
}


// ---- classification helpers ----------------------------------------------

using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

ClassLabels labels_of(const IntArray& labels, std::size_t n) {
    if (labels.ndim() != 1 || static_cast<std::size_t>(labels.shape(0)) != n)
        throw std::invalid_argument("labels must be 1-D with one class per sample");
    return ClassLabels(std::vector<int>(labels.data(), labels.data() + labels.size()));
}

// Rows of a (features x samples) matrix as pointers.
std::vector<const double*> rows_of(const Array& features) {
    if (features.ndim() != 2) throw std::invalid_argument("features must be 2-D (features x samples)");
    std::vector<const double*> rows;
    for (py::ssize_t j = 0; j < features.shape(0); ++j) rows.push_back(features.data() + j * features.shape(1));
    return rows;
}

SeparationScore separation_of(const std::string& s) {
    if (s == "overlap") return SeparationScore::Overlap;
    if (s == "logistic") return SeparationScore::Logistic;
    throw std::invalid_argument("score must be 'overlap' or 'logistic', not '" + s + "'");
}

LogisticOptions logistic_options(double l2, int max_iterations, double tolerance) {
    if (!(l2 > 0)) throw std::invalid_argument("l2 must be positive (it keeps separable data's weights finite)");
    if (max_iterations < 1) throw std::invalid_argument("max_iterations must be at least 1");
    LogisticOptions o;
    o.l2 = l2;
    o.max_iterations = max_iterations;
    o.tolerance = tolerance;
    return o;
}

void add_counts(py::dict& out, const ScreenCounts& r) {
    out["n_candidates"] = r.n_candidates;
    out["n_screened"] = r.n_screened;
    out["n_nonfinite"] = r.n_nonfinite;
    out["n_out_of_range"] = r.n_out_of_range;
    out["n_low_variance"] = r.n_low_variance;
    out["n_string_duplicates"] = r.n_string_duplicates;
    out["n_value_duplicates"] = r.n_value_duplicates;
    out["n_kept"] = r.n_kept;
    out["cancelled"] = r.cancelled;
}

void add_classification(py::module_& m);

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "formulasearch C++ core: formulas, candidate generation, least-squares search";
    py::register_exception_translator([](std::exception_ptr e) {
        try {
            if (e) std::rethrow_exception(e);
        } catch (const std::invalid_argument& ex) {
            PyErr_SetString(PyExc_ValueError, ex.what());
        } catch (const std::out_of_range& ex) {
            PyErr_SetString(PyExc_IndexError, ex.what());
        }
    });

    m.def("max_threads", [] {
#ifdef _OPENMP
        return omp_get_max_threads();
#else
        return 1;
#endif
    }, "Threads the kernels use.");
    m.def("set_threads", [](int n) {
#ifdef _OPENMP
        if (n < 1) throw std::invalid_argument("thread count must be at least 1");
        omp_set_num_threads(n);
#endif
    }, py::arg("n"), "Set the number of threads the kernels use.");

    m.def("operators", [] {
        py::dict out;  // token -> arity, in the core's order
        for (int op = static_cast<int>(Op::Square); op <= static_cast<int>(Op::AbsDiff); ++op)
            out[py::str(std::string(op_token(static_cast<Op>(op))))] = arity(static_cast<Op>(op));
        return out;
    }, "The operators of formula codes: postfix token -> number of operands.");

    py::class_<Formula>(m, "Formula")
        .def_static("from_postfix", &Formula::from_postfix, py::arg("code"), py::arg("names"),
                    "Read the stable postfix serialisation back.")
        .def("to_string", &Formula::to_string, py::arg("names"), "Readable infix form.")
        .def("to_postfix", &Formula::to_postfix, py::arg("names"), "Stable postfix serialisation.")
        .def("to_latex", &Formula::to_latex, py::arg("latex_names"), "LaTeX form, given LaTeX names of the variables.")
        .def_property_readonly("complexity", &Formula::complexity)
        .def_property_readonly("constants", &Formula::constants, "The formula's numeric constants, in code order.")
        .def_static("constant", &Formula::constant, py::arg("value"))
        .def_static("variable", &Formula::variable, py::arg("index"))
        .def_static("binary", [](const std::string& op, const Formula& a, const Formula& b) {
            return Formula::binary(op_from_token(op), a, b);
        }, py::arg("op"), py::arg("a"), py::arg("b"), "Combine two formulas with a binary operator ('+', '*', ...).")
        .def_static("unary", [](const std::string& op, const Formula& x) { return Formula::unary(op_from_token(op), x); },
                    py::arg("op"), py::arg("x"))
        .def("evaluate", [](const Formula& f, const Array& primaries) {
            if (primaries.ndim() != 2) throw std::invalid_argument("primaries must be 2-D (variables x samples)");
            const auto nv = static_cast<std::size_t>(primaries.shape(0)), n = static_cast<std::size_t>(primaries.shape(1));
            py::array_t<double> out(n);
            f.evaluate(primaries.data(), nv, n, out.mutable_data());
            return out;
        }, py::arg("primaries"), "Values over all samples; primaries is (variables x samples).")
        .def(py::self == py::self)
        .def(py::self != py::self)
        .def("__hash__", [](const Formula& f) {
            std::size_t h = 1469598103934665603ULL;
            for (Token t : f.code()) h = (h ^ (static_cast<std::size_t>(t.op) << 16 | t.arg)) * 1099511628211ULL;
            for (double c : f.constants()) h = (h ^ std::hash<double>{}(c)) * 1099511628211ULL;
            return h;
        });

    py::class_<CandidateSource>(m, "CandidateSource", "Anything that enumerates candidate formulas by index.")
        .def("__len__", [](const CandidateSource& g) { return g.size(); })
        .def_property_readonly("size", &CandidateSource::size)
        .def_property_readonly("n_samples", &CandidateSource::n_samples)
        .def("formula", &CandidateSource::formula, py::arg("index"))
        .def("generated", &CandidateSource::generated, py::arg("index"))
        .def("evaluate", &evaluate_source, py::arg("indices"), "Values of the given candidates (len(indices) x samples).");

    py::class_<PaperGenerator, CandidateSource>(m, "PaperGenerator")
        .def(py::init([](const Array& matrix, std::vector<std::string> names, std::vector<std::vector<int>> classes,
                         int generation, const std::string& variant) {
                 return PaperGenerator(primaries_of(matrix, std::move(names), std::move(classes)), generation,
                                       variant_of(variant));
             }),
             py::arg("primaries"), py::arg("names"), py::arg("classes"), py::arg("generation"),
             py::arg("variant") = "paper")
        .def("__len__", [](const PaperGenerator& g) { return g.size(); })
        .def_property_readonly("size", &PaperGenerator::size)
        .def_property_readonly("generation", &PaperGenerator::generation)
        .def_property_readonly("n_left_parts", &PaperGenerator::n_left_parts)
        .def_property_readonly("n_right_parts", &PaperGenerator::n_right_parts)
        .def_property_readonly("has_string_duplicates", &PaperGenerator::has_string_duplicates)
        .def("formula", &PaperGenerator::formula, py::arg("index"))
        .def("string_key", &PaperGenerator::string_key, py::arg("index"))
        .def("parts_of", &PaperGenerator::parts_of, py::arg("index"));

    py::class_<SissoSpace, CandidateSource>(m, "SissoSpace",
                                            "A SISSO-style operator feature space, grown rung by rung.")
        .def(py::init([](const Array& matrix, std::vector<std::string> names,
                         const py::array_t<int, py::array::c_style | py::array::forcecast>& units,
                         const std::vector<std::vector<std::string>>& ops_per_rung, int max_complexity, bool strict,
                         bool structured) {
                 Primaries p = primaries_of(matrix, std::move(names), {});
                 if (units.ndim() != 2 || static_cast<std::size_t>(units.shape(0)) != p.n_vars || units.shape(1) != Unit::kDims)
                     throw std::invalid_argument("units must be (variables x 8) exponents in sixths");
                 std::vector<Unit> us;
                 for (std::size_t v = 0; v < p.n_vars; ++v) {
                     std::array<int, Unit::kDims> e{};
                     for (int d = 0; d < Unit::kDims; ++d) e[d] = units.at(v, d);
                     us.push_back(Unit::from_sixths(e));
                 }
                 SissoOptions opt;
                 for (const auto& rung : ops_per_rung) {
                     std::vector<Op> ops;
                     for (const auto& name : rung) ops.push_back(op_from_token(name));
                     opt.ops_per_rung.push_back(std::move(ops));
                 }
                 opt.max_complexity = max_complexity;
                 opt.strict_units = strict;
                 opt.structured = structured;
                 return SissoSpace(std::move(p), std::move(us), std::move(opt));
             }),
             py::arg("primaries"), py::arg("names"), py::arg("units"), py::arg("ops_per_rung"),
             py::arg("max_complexity") = 0, py::arg("strict_units") = false, py::arg("structured") = true)
        .def("advance", &SissoSpace::advance, py::arg("kept"), py::call_guard<py::gil_scoped_release>(),
             "Store the kept candidates of this stage and open the next rung.")
        .def_property_readonly("lazy_rung", &SissoSpace::lazy_rung)
        .def_property_readonly("max_rung", &SissoSpace::max_rung)
        .def_property_readonly("n_stored", &SissoSpace::n_stored)
        .def_property_readonly("stored_bytes", &SissoSpace::stored_bytes)
        .def_property_readonly("structured", &SissoSpace::structured,
                               "True: the lazy block's indices are its generated candidates only.")
        .def_property_readonly("product_size", &SissoSpace::product_size,
                               "Size of the lazy rung's unstructured product (newest x stored x operators).")
        .def_property_readonly("n_visited", &SissoSpace::n_visited,
                               "Candidates of the lazy rung the enumeration visits (the product when unstructured).")
        .def("product_index", &SissoSpace::product_index, py::arg("index"),
             "Index of a lazy candidate in the unstructured product (the same in both enumerations).")
        .def("unit", [](const SissoSpace& s, std::uint64_t i, const std::vector<std::string>& base) {
            return s.unit(i).to_string(base);
        }, py::arg("index"), py::arg("base"))
        .def("complexity", &SissoSpace::complexity, py::arg("index"))
        .def("rung", &SissoSpace::rung, py::arg("index"));

    m.def("screen", [](const CandidateSource& source, const Array& target, std::size_t keep, double variance_filter,
                       const std::string& dedup, std::size_t block, double max_abs, double min_abs,
                       std::optional<TestSets> splits, py::object progress, ScreenCache* cache) {
        if (target.ndim() != 1 && target.ndim() != 2) throw std::invalid_argument("target must be 1-D (or 2-D: one row per target)");
        ScreenOptions opt;
        opt.keep = keep;
        opt.variance_filter = variance_filter;
        opt.dedup = dedup_of(dedup);
        opt.block = block;
        opt.max_abs = max_abs;
        opt.min_abs = min_abs;
        if (splits) opt.rank_splits = &*splits;
        const std::size_t rows = target.ndim() == 1 ? 1 : static_cast<std::size_t>(target.shape(0));
        const std::size_t len = static_cast<std::size_t>(target.shape(target.ndim() - 1));
        std::vector<std::vector<double>> ys;
        for (std::size_t r = 0; r < rows; ++r) ys.emplace_back(target.data() + r * len, target.data() + (r + 1) * len);
        PyProgress p(std::move(progress));
        ScreenResult r;
        {
            py::gil_scoped_release release;
            r = screen(source, ys, opt, &p, cache);
        }
        p.rethrow();
        const bool interrupted = p.interrupted();
        py::array_t<std::uint64_t> indices(r.top.size());
        py::array_t<double> r2(r.top.size());
        for (std::size_t i = 0; i < r.top.size(); ++i) {
            indices.mutable_at(i) = r.top[i].index;
            r2.mutable_at(i) = r.top[i].score;
        }
        py::dict out;
        add_counts(out, r);
        out["indices"] = indices;
        out["score"] = r2;
        if (!splits) out["r2"] = r2;  // the score is R^2 unless ranking by splits
        out["interrupted"] = interrupted;
        return out;
    }, py::arg("source"), py::arg("target"), py::arg("keep") = 5000, py::arg("variance_filter") = 0.05,
       py::arg("dedup") = "value", py::arg("block") = 16384,
       py::arg("max_abs") = std::numeric_limits<double>::infinity(), py::arg("min_abs") = 0.0,
       py::arg("rank_splits") = py::none(), py::arg("progress") = py::none(), py::arg("cache") = py::none(),
       "Stream over all candidates: filter, deduplicate, keep the best `keep` by 1D fit. With a ScreenCache: "
       "the first screening fills it (within its budget), later ones of the same source and filters reuse it.");

    py::class_<ScreenCache>(m, "ScreenCache",
                            "The usable candidates of one screening (values included), within a memory budget, "
                            "reused by later screenings of the same source: the same result, bit for bit.")
        .def(py::init([](double memory_budget_mb) {
                 if (!(memory_budget_mb >= 0)) throw std::invalid_argument("memory_budget_mb must be >= 0");
                 return ScreenCache(static_cast<std::size_t>(memory_budget_mb * 1048576.0));
             }),
             py::arg("memory_budget_mb"))
        .def_property_readonly("budget_bytes", &ScreenCache::budget_bytes)
        .def_property_readonly("ready", &ScreenCache::ready)
        .def_property_readonly("over_budget", &ScreenCache::over_budget)
        .def_property_readonly("size", &ScreenCache::size)
        .def_property_readonly("bytes", &ScreenCache::bytes)
        .def("clear", &ScreenCache::clear);

    py::class_<StandardizedSet>(m, "StandardizedSet",
                                "Candidates centred and scaled to unit norm, in the panel layout of the Gram kernel.")
        .def(py::init(&set_of), py::arg("values"), py::arg("target"))
        .def_static("from_candidates", [](const CandidateSource& g, const std::vector<std::uint64_t>& indices,
                                          const Array& target, py::object progress) {
            if (target.ndim() != 1 || static_cast<std::size_t>(target.shape(0)) != g.n_samples())
                throw std::invalid_argument("target length does not match the samples");
            PyProgress p(std::move(progress));
            std::unique_ptr<StandardizedSet> set;
            try {
                py::gil_scoped_release release;
                set = std::make_unique<StandardizedSet>(g, indices, target.data(), &p);
            } catch (const Cancelled&) {
                p.rethrow();  // a Python error from the callback, if that was the cause
                PyErr_SetNone(PyExc_KeyboardInterrupt);
                throw py::error_already_set();
            }
            return set;
        }, py::arg("generator"), py::arg("indices"), py::arg("target"), py::arg("progress") = py::none(),
           "Evaluate and standardise the given candidates without holding their raw values.")
        .def("__len__", &StandardizedSet::size)
        .def_property_readonly("n_samples", &StandardizedSet::n_samples)
        .def_property_readonly("memory_bytes", &StandardizedSet::memory_bytes)
        .def_property_readonly("target_correlations", [](const StandardizedSet& s) {
            return py::array_t<double>(s.size(), s.target_correlations().data());
        });

    m.def("count_combinations", &count_combinations, py::arg("m"), py::arg("d"), py::arg("first") = 0,
          py::arg("last") = static_cast<std::size_t>(-1));
    for (int dim : {2, 3}) {
        const char* name = dim == 2 ? "search_pairs" : "search_triples";
        const char* doc = dim == 2 ? "Best pairs by OLS fit, scored from Gram blocks." : "Best triples by OLS fit, from the Gram matrix.";
        m.def(name, [dim](const StandardizedSet& set, double max_pair_corr, std::size_t keep, std::size_t tile,
                          double singular_tol, std::size_t first, std::optional<std::size_t> last, py::object progress,
                          std::size_t sample_block) {
            return search_set(set, dim, search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block),
                              std::move(progress));
        }, py::arg("set"), py::kw_only(), py::arg("max_pair_corr") = 0.9, py::arg("keep") = 10, py::arg("tile") = 256,
           py::arg("singular_tol") = 1e-10, py::arg("first") = 0, py::arg("last") = py::none(),
           py::arg("progress") = py::none(), py::arg("sample_block") = 0, doc);
        m.def(name, [dim](const Array& values, const Array& target, double max_pair_corr, std::size_t keep,
                          std::size_t tile, double singular_tol, std::size_t first, std::optional<std::size_t> last,
                          py::object progress, std::size_t sample_block) {
            auto set = set_of(values, target);
            return search_set(*set, dim, search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block),
                              std::move(progress));
        }, py::arg("values"), py::arg("target"), py::kw_only(), py::arg("max_pair_corr") = 0.9, py::arg("keep") = 10,
           py::arg("tile") = 256, py::arg("singular_tol") = 1e-10, py::arg("first") = 0, py::arg("last") = py::none(),
           py::arg("progress") = py::none(), py::arg("sample_block") = 0,
           "The same search over rows of `values` (candidates x samples).");
    }

    for (int dim : {2, 3}) {
        const char* name = dim == 2 ? "search_pairs_streamed" : "search_triples_streamed";
        const char* doc = dim == 2
            ? "search_pairs over StandardizedSet.from_candidates(source, indices, target) with the same result, "
              "evaluating and standardising the candidates a block at a time so that at most memory_budget_mb "
              "(MiB) of them and the kernel's buffers are held (peak_bytes reports it; block_size the "
              "candidates per block). first / last: a slice (pairs whose first member lies in [first, last), "
              "multiples of 16): only its part of the pool is evaluated and searched."
            : "search_triples over StandardizedSet.from_candidates(source, indices, target) with the same "
              "result, holding the K x K correlations (which must fit in memory_budget_mb) and at most two "
              "blocks of candidates. first / last: a slice (triples whose first member lies in [first, last), "
              "multiples of 16).";
        m.def(name, [dim](const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                          const Array& target, double memory_budget_mb, double max_pair_corr, std::size_t keep,
                          std::size_t tile, double singular_tol, std::size_t sample_block, std::size_t first,
                          std::optional<std::size_t> last, py::object progress) {
            if (target.ndim() != 1 || static_cast<std::size_t>(target.shape(0)) != source.n_samples())
                throw std::invalid_argument("target length does not match the samples");
            if (!(memory_budget_mb > 0)) throw std::invalid_argument("memory_budget_mb must be positive");
            for (auto i : indices)
                if (i >= source.size()) throw std::out_of_range("candidate index out of range");
            const SearchOptions opt = search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block);
            const auto budget = static_cast<std::size_t>(memory_budget_mb * 1024.0 * 1024.0);
            PyProgress p(std::move(progress));
            SearchResult r;
            {
                py::gil_scoped_release release;
                r = dim == 2 ? search_pairs_streamed(source, indices, target.data(), opt, budget, &p)
                             : search_triples_streamed(source, indices, target.data(), opt, budget, &p);
            }
            p.rethrow();
            py::dict out = search_result_dict(r, dim);
            out["interrupted"] = p.interrupted();
            out["block_size"] = streamed_block_size(dim, indices.size(), source.n_samples(), budget, opt);
            return out;
        }, py::arg("source"), py::arg("indices"), py::arg("target"), py::kw_only(), py::arg("memory_budget_mb"),
           py::arg("max_pair_corr") = 0.9, py::arg("keep") = 10, py::arg("tile") = 256, py::arg("singular_tol") = 1e-10,
           py::arg("sample_block") = 0, py::arg("first") = 0, py::arg("last") = py::none(),
           py::arg("progress") = py::none(), doc);
    }

    auto design = [](const Array& features, const Array& target) {
        if (features.ndim() != 2) throw std::invalid_argument("features must be 2-D (features x samples)");
        if (target.ndim() != 1 || target.shape(0) != features.shape(1))
            throw std::invalid_argument("target length does not match the samples of features");
        return std::make_pair(static_cast<std::size_t>(features.shape(0)), static_cast<std::size_t>(features.shape(1)));
    };
    m.def("loo_residuals", [design](const Array& features, const Array& target) {
        auto [d, n] = design(features, target);
        return loo_residuals(features.data(), d, n, target.data());
    }, py::arg("features"), py::arg("target"), "Leave-one-out residuals from the hat matrix diagonal (no refits).");
    m.def("test_set_mse", [design](const Array& features, const Array& target, const TestSets& tests) {
        auto [d, n] = design(features, target);
        py::gil_scoped_release release;
        return test_set_mse(features.data(), d, n, target.data(), tests);
    }, py::arg("features"), py::arg("target"), py::arg("tests"), "Refit without each test set; its test MSE.");
    m.def("kfold_sets", &kfold_sets, py::arg("n"), py::arg("k"), py::arg("seed") = 0);
    m.def("random_splits", &random_splits, py::arg("n"), py::arg("n_splits"), py::arg("test_fraction") = 0.1,
          py::arg("seed") = 0);

    m.def("fit_linear", [](const Array& features, const Array& target) {
        if (features.ndim() != 2) throw std::invalid_argument("features must be 2-D (features x samples)");
        const auto d = static_cast<std::size_t>(features.shape(0)), n = static_cast<std::size_t>(features.shape(1));
        if (target.ndim() != 1 || static_cast<std::size_t>(target.shape(0)) != n)
            throw std::invalid_argument("target length does not match the samples of features");
        LinearFit f;
        {
            py::gil_scoped_release release;
            f = fit_linear(features.data(), d, n, target.data());
        }
        py::dict out;
        out["intercept"] = f.intercept;
        out["coefficients"] = f.coefficients;
        out["rmse"] = f.rmse;
        out["mae"] = f.mae;
        out["maxae"] = f.maxae;
        out["r2"] = f.r2;
        return out;
    }, py::arg("features"), py::arg("target"), "OLS with intercept by column-pivoted QR, with error metrics.");

    add_classification(m);
}

// ---- classification: separating classes with one or two formulas -----------

namespace {

void add_classification(py::module_& m) {
    m.def("overlap_score", [](const Array& features, const IntArray& labels) {
        auto rows = rows_of(features);
        ClassLabels cl = labels_of(labels, static_cast<std::size_t>(features.shape(1)));
        for (std::size_t c : cl.class_sizes)
            if (c < 2) throw std::invalid_argument("each class needs at least 2 samples to have a domain");
        SeparationKey k;
        if (rows.size() == 1) k = overlap_1d(rows[0], cl);
        else if (rows.size() == 2) k = overlap_2d(rows[0], rows[1], cl);
        else throw std::invalid_argument("domain overlap is defined for 1 or 2 features");
        return py::make_tuple(k.count, k.value);
    }, py::arg("features"), py::arg("labels"),
       "SISSO domain overlap of 1 or 2 features: (samples in another class's domain, overlap size or minus the gap).");
    m.def("overlap_members", [](const Array& features, const IntArray& labels) {
        auto rows = rows_of(features);
        ClassLabels cl = labels_of(labels, static_cast<std::size_t>(features.shape(1)));
        return overlap_members(rows.data(), static_cast<int>(rows.size()), cl);
    }, py::arg("features"), py::arg("labels"), "Indices of the samples inside or on another class's domain.");
    m.def("fit_logistic", [](const Array& features, const IntArray& labels, double l2, int max_iterations,
                             double tolerance) {
        auto rows = rows_of(features);
        ClassLabels cl = labels_of(labels, static_cast<std::size_t>(features.shape(1)));
        LogisticModel f;
        {
            py::gil_scoped_release release;
            f = fit_logistic(rows.data(), static_cast<int>(rows.size()), cl, logistic_options(l2, max_iterations, tolerance));
        }
        py::dict out;
        out["intercept"] = f.intercept;
        out["coefficients"] = f.coefficients;
        out["loss"] = f.loss;
        out["accuracy"] = f.accuracy;
        out["iterations"] = f.iterations;
        out["converged"] = f.converged;
        return out;
    }, py::arg("features"), py::arg("labels"), py::arg("l2") = 1e-3, py::arg("max_iterations") = 100,
       py::arg("tolerance") = 1e-10,
       "L2-penalised logistic separator (one-vs-rest beyond two classes), in the features' units.");
    m.def("screen_classes", [](const CandidateSource& source, const IntArray& labels, const std::string& score,
                               std::size_t keep, double variance_filter, const std::string& dedup, std::size_t block,
                               double max_abs, double min_abs, double l2, py::object progress) {
        ClassifyOptions opt;
        opt.score = separation_of(score);
        opt.screen.keep = keep;
        opt.screen.variance_filter = variance_filter;
        opt.screen.dedup = dedup_of(dedup);
        opt.screen.block = block;
        opt.screen.max_abs = max_abs;
        opt.screen.min_abs = min_abs;
        opt.logistic = logistic_options(l2, 100, 1e-10);
        ClassLabels cl = labels_of(labels, source.n_samples());
        PyProgress p(std::move(progress));
        ClassScreenResult r;
        {
            py::gil_scoped_release release;
            r = screen_classes(source, cl, opt, &p);
        }
        p.rethrow();
        py::array_t<std::uint64_t> indices(r.top.size());
        py::array_t<std::uint32_t> count(r.top.size());
        py::array_t<double> value(r.top.size());
        for (std::size_t i = 0; i < r.top.size(); ++i) {
            indices.mutable_at(i) = r.top[i].index;
            count.mutable_at(i) = r.top[i].key.count;
            value.mutable_at(i) = r.top[i].key.value;
        }
        py::dict out;
        add_counts(out, r);
        out["indices"] = indices;
        out["count"] = count;
        out["value"] = value;
        out["interrupted"] = p.interrupted();
        return out;
    }, py::arg("source"), py::arg("labels"), py::kw_only(), py::arg("score") = "overlap", py::arg("keep") = 2000,
       py::arg("variance_filter") = 0.05, py::arg("dedup") = "value", py::arg("block") = 16384,
       py::arg("max_abs") = std::numeric_limits<double>::infinity(), py::arg("min_abs") = 0.0, py::arg("l2") = 1e-3,
       py::arg("progress") = py::none(),
       "Stream over all candidates: filter, deduplicate, keep the best `keep` single formulas at separating the classes.");
    m.def("search_class_pairs", [](const Array& values, const IntArray& labels, const std::string& score,
                                   std::size_t keep, double max_pair_corr, double l2, py::object progress) {
        if (values.ndim() != 2) throw std::invalid_argument("values must be 2-D (formulas x samples)");
        ClassifyOptions opt;
        opt.score = separation_of(score);
        opt.keep = keep;
        opt.max_pair_corr = max_pair_corr;
        opt.logistic = logistic_options(l2, 100, 1e-10);
        ClassLabels cl = labels_of(labels, static_cast<std::size_t>(values.shape(1)));
        PyProgress p(std::move(progress));
        PairSearchResult r;
        {
            py::gil_scoped_release release;
            r = search_class_pairs(values.data(), static_cast<std::size_t>(values.shape(0)), cl, opt, &p);
        }
        p.rethrow();
        py::array_t<std::uint32_t> members({r.best.size(), std::size_t{2}});
        py::array_t<std::uint32_t> count(r.best.size());
        py::array_t<double> value(r.best.size());
        for (std::size_t i = 0; i < r.best.size(); ++i) {
            members.mutable_at(i, 0) = r.best[i].first;
            members.mutable_at(i, 1) = r.best[i].second;
            count.mutable_at(i) = r.best[i].key.count;
            value.mutable_at(i) = r.best[i].key.value;
        }
        py::dict out;
        out["members"] = members;
        out["count"] = count;
        out["value"] = value;
        out["n_pairs"] = r.n_pairs;
        out["n_scored"] = r.n_scored;
        out["seconds"] = r.seconds;
        out["cancelled"] = r.cancelled;
        out["interrupted"] = p.interrupted();
        return out;
    }, py::arg("values"), py::arg("labels"), py::kw_only(), py::arg("score") = "overlap", py::arg("keep") = 10,
       py::arg("max_pair_corr") = 1.0, py::arg("l2") = 1e-3, py::arg("progress") = py::none(),
       "Every pair of the rows of `values` scored at separating the classes; the best `keep`, best first.");
}

}  // namespace
