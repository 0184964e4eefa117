// formulasearch._core: the thin pybind11 layer over the C++ core.
// Converts numpy arrays in and out, releases the GIL around every kernel, and
// turns C++ argument errors into Python ValueError. Options and results are
// the core's own structs, bound as classes; the keyword defaults of the
// kernels are read from default-constructed option structs, never repeated.
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
#include "formulasearch/linear_fit.hpp"
#include "formulasearch/multitask.hpp"
#include "formulasearch/paper_generator.hpp"
#include "formulasearch/fold_search.hpp"
#include "formulasearch/screening.hpp"
#include "formulasearch/sisso_space.hpp"
#include "formulasearch/standardized_set.hpp"
#include "formulasearch/streamed_search.hpp"
#include "formulasearch/subset_search.hpp"
#include "formulasearch/validation.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;
using namespace formulasearch;
using namespace pybind11::literals;

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

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

// What the binding adds to a kernel's result: whether Ctrl-C (rather than
// the progress callback) stopped it. Bound under the C++ result's name.
template <class Result>
struct Interruptible : Result {
    Interruptible(Result r, bool by_ctrl_c) : Result(std::move(r)), interrupted(by_ctrl_c) {}
    bool interrupted = false;
};

// Runs kernel(Progress*) without the GIL, reporting to the Python callback.
template <class Kernel>
auto with_progress(py::object progress, Kernel&& kernel) {
    PyProgress p(std::move(progress));
    decltype(kernel(static_cast<Progress*>(&p))) r;
    {
        py::gil_scoped_release release;
        r = kernel(&p);
    }
    p.rethrow();
    return Interruptible<decltype(r)>(std::move(r), p.interrupted());
}

// A read-only numpy view of the C++ storage of a result (no copy), kept
// alive by the Python object that owns it. Strides in bytes: one field of
// each struct of a vector is a strided column.
template <class T>
py::array_t<T> view(py::handle owner, const T* data, std::vector<py::ssize_t> shape, std::vector<py::ssize_t> strides) {
    for (py::ssize_t s : shape)
        if (s == 0) return py::array_t<T>(shape);  // an empty vector may hold no storage
    py::array_t<T> out(shape, strides, data, owner);
    out.attr("setflags")("write"_a = false);
    return out;
}

template <class T, class Struct>
py::array_t<T> column(py::handle owner, const std::vector<Struct>& v, const T* first) {
    return view<T>(owner, first, {static_cast<py::ssize_t>(v.size())}, {static_cast<py::ssize_t>(sizeof(Struct))});
}

Dedup dedup_of(const std::string& s) {
    if (s == "string") return Dedup::String;
    if (s == "value") return Dedup::Value;
    throw std::invalid_argument("dedup must be 'string' or 'value', not '" + s + "'");
}

std::string dedup_name(Dedup d) { return d == Dedup::String ? "string" : "value"; }

PaperVariant variant_of(const std::string& s) {
    if (s == "paper") return PaperVariant::Paper;
    if (s == "classes") return PaperVariant::Classes;
    throw std::invalid_argument("variant must be 'paper' or 'classes', not '" + s + "'");
}

SeparationScore separation_of(const std::string& s) {
    if (s == "overlap") return SeparationScore::Overlap;
    if (s == "logistic") return SeparationScore::Logistic;
    if (s == "accuracy") return SeparationScore::Accuracy;
    throw std::invalid_argument("score must be 'overlap', 'logistic' or 'accuracy', not '" + s + "'");
}

std::string separation_name(SeparationScore s) {
    return s == SeparationScore::Overlap ? "overlap" : s == SeparationScore::Logistic ? "logistic" : "accuracy";
}

ClassWeight class_weight_of(const std::string& s) {
    if (s == "none") return ClassWeight::None;
    if (s == "balanced") return ClassWeight::Balanced;
    throw std::invalid_argument("class_weight must be 'none', 'balanced' or one weight per class, not '" + s + "'");
}

// SearchOptions::last as Python sees it: None for "to the end".
std::optional<std::size_t> last_of(const SearchOptions& o) {
    return o.last == SearchOptions{}.last ? std::nullopt : std::optional<std::size_t>(o.last);
}

SearchOptions search_options(double max_pair_corr, std::size_t keep, std::size_t tile, double singular_tol,
                             std::size_t first, std::optional<std::size_t> last, std::size_t sample_block) {
    SearchOptions opt;
    opt.max_pair_corr = max_pair_corr;
    opt.keep = keep;
    opt.tile = tile;
    opt.singular_tol = singular_tol;
    opt.first = first;
    if (last) opt.last = *last;
    opt.sample_block = sample_block;
    return opt;
}

Interruptible<SearchResult> search_set(const StandardizedSet& set, int dim, const SearchOptions& opt,
                                       py::object progress) {
    return with_progress(std::move(progress), [&](Progress* p) {
        return dim == 2 ? search_pairs(set, opt, p) : search_triples(set, opt, p);
    });
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

// class_weight: "none", "balanced", or one weight per class.
ClassLabels labels_of(const IntArray& labels, std::size_t n, const py::object& class_weight = py::str("none")) {
    if (labels.ndim() != 1 || static_cast<std::size_t>(labels.shape(0)) != n)
        throw std::invalid_argument("labels must be 1-D with one class per sample");
    std::vector<int> l(labels.data(), labels.data() + labels.size());
    if (py::isinstance<py::str>(class_weight)) return ClassLabels(std::move(l), 1, class_weight_of(class_weight.cast<std::string>()));
    return ClassLabels(std::move(l), 1, class_weight.cast<std::vector<double>>());
}

// Rows of a (features x samples) matrix as pointers.
std::vector<const double*> rows_of(const Array& features) {
    if (features.ndim() != 2) throw std::invalid_argument("features must be 2-D (features x samples)");
    std::vector<const double*> rows;
    for (py::ssize_t j = 0; j < features.shape(0); ++j) rows.push_back(features.data() + j * features.shape(1));
    return rows;
}

void add_options(py::module_& m);
void add_results(py::module_& m);
void add_classification(py::module_& m);
void add_subset_search(py::module_& m);
void add_multitask(py::module_& m);
void add_nested(py::module_& m);

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
    add_options(m);
    add_results(m);

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
             py::arg("max_complexity") = SissoOptions{}.max_complexity,
             py::arg("strict_units") = SissoOptions{}.strict_units, py::arg("structured") = SissoOptions{}.structured)
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


    const ScreenOptions screen_defaults;
    m.def("screen", [](const CandidateSource& source, const Array& target, std::size_t keep, double variance_filter,
                       const std::string& dedup, std::size_t block, double max_abs, double min_abs,
                       std::optional<TestSets> splits, py::object progress, ScreenCache* cache, std::uint64_t begin,
                       std::optional<std::uint64_t> end, std::optional<std::vector<std::uint64_t>> earlier_values,
                       bool report_values, std::size_t dedup_limit,
                       std::optional<std::vector<int>> tasks) {
        if (target.ndim() != 1 && target.ndim() != 2) throw std::invalid_argument("target must be 1-D (or 2-D: one row per target)");
        std::optional<TaskPartition> partition;
        if (tasks) partition.emplace(std::move(*tasks));
        ScreenOptions opt;
        opt.begin = begin;
        if (end) opt.end = *end;
        if (earlier_values) opt.earlier_values = &*earlier_values;
        opt.report_values = report_values;
        opt.keep = keep;
        opt.variance_filter = variance_filter;
        opt.dedup = dedup_of(dedup);
        opt.block = block;
        opt.max_abs = max_abs;
        opt.min_abs = min_abs;
        opt.dedup_limit = dedup_limit;
        if (splits) opt.rank_splits = &*splits;
        if (partition) opt.tasks = &*partition;
        const std::size_t rows = target.ndim() == 1 ? 1 : static_cast<std::size_t>(target.shape(0));
        const std::size_t len = static_cast<std::size_t>(target.shape(target.ndim() - 1));
        std::vector<std::vector<double>> ys;
        for (std::size_t r = 0; r < rows; ++r) ys.emplace_back(target.data() + r * len, target.data() + (r + 1) * len);
        return with_progress(std::move(progress), [&](Progress* p) { return screen(source, ys, opt, p, cache); });
    }, py::arg("source"), py::arg("target"), py::arg("keep") = screen_defaults.keep,
       py::arg("variance_filter") = screen_defaults.variance_filter, py::arg("dedup") = dedup_name(screen_defaults.dedup),
       py::arg("block") = screen_defaults.block, py::arg("max_abs") = screen_defaults.max_abs,
       py::arg("min_abs") = screen_defaults.min_abs, py::arg("rank_splits") = py::none(), py::arg("progress") = py::none(),
       py::arg("cache") = py::none(), py::arg("begin") = 0, py::arg("end") = py::none(),
       py::arg("earlier_values") = py::none(), py::arg("report_values") = false,
       py::arg("dedup_limit") = screen_defaults.dedup_limit, py::arg("tasks") = py::none(),
       "Stream over all candidates: filter, deduplicate, keep the best `keep` by 1D fit (a ScreenResult). With a "
       "ScreenCache: the first screening fills it (within its budget), later ones of the same source and filters "
       "reuse it (the same result, bit for bit). A block: only indices [begin, end) are screened, with "
       "`earlier_values` (uint64 value hashes of earlier candidates) counted as seen by the value dedup; "
       "report_values=True records every kept candidate's value hash (kept_index, kept_hash). tasks: the task "
       "(0..T-1) of each sample: multi-task SIS, the score is the mean over the tasks of each task's r^2.");

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

    const SearchOptions search_defaults;
    m.def("count_combinations", &count_combinations, py::arg("m"), py::arg("d"), py::arg("first") = search_defaults.first,
          py::arg("last") = search_defaults.last);
    for (int dim : {2, 3}) {
        const char* name = dim == 2 ? "search_pairs" : "search_triples";
        const char* doc = dim == 2 ? "Best pairs by OLS fit, scored from Gram blocks (a SearchResult)."
                                   : "Best triples by OLS fit, from the Gram matrix (a SearchResult).";
        m.def(name, [dim](const StandardizedSet& set, double max_pair_corr, std::size_t keep, std::size_t tile,
                          double singular_tol, std::size_t first, std::optional<std::size_t> last, py::object progress,
                          std::size_t sample_block) {
            return search_set(set, dim, search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block),
                              std::move(progress));
        }, py::arg("set"), py::kw_only(), py::arg("max_pair_corr") = search_defaults.max_pair_corr,
           py::arg("keep") = search_defaults.keep, py::arg("tile") = search_defaults.tile,
           py::arg("singular_tol") = search_defaults.singular_tol, py::arg("first") = search_defaults.first,
           py::arg("last") = last_of(search_defaults), py::arg("progress") = py::none(),
           py::arg("sample_block") = search_defaults.sample_block, doc);
        m.def(name, [dim](const Array& values, const Array& target, double max_pair_corr, std::size_t keep,
                          std::size_t tile, double singular_tol, std::size_t first, std::optional<std::size_t> last,
                          py::object progress, std::size_t sample_block) {
            auto set = set_of(values, target);
            return search_set(*set, dim, search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block),
                              std::move(progress));
        }, py::arg("values"), py::arg("target"), py::kw_only(), py::arg("max_pair_corr") = search_defaults.max_pair_corr,
           py::arg("keep") = search_defaults.keep, py::arg("tile") = search_defaults.tile,
           py::arg("singular_tol") = search_defaults.singular_tol, py::arg("first") = search_defaults.first,
           py::arg("last") = last_of(search_defaults), py::arg("progress") = py::none(),
           py::arg("sample_block") = search_defaults.sample_block,
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
            return with_progress(std::move(progress), [&](Progress* p) {
                return dim == 2 ? search_pairs_streamed(source, indices, target.data(), opt, budget, p)
                                : search_triples_streamed(source, indices, target.data(), opt, budget, p);
            });
        }, py::arg("source"), py::arg("indices"), py::arg("target"), py::kw_only(), py::arg("memory_budget_mb"),
           py::arg("max_pair_corr") = search_defaults.max_pair_corr, py::arg("keep") = search_defaults.keep,
           py::arg("tile") = search_defaults.tile, py::arg("singular_tol") = search_defaults.singular_tol,
           py::arg("sample_block") = search_defaults.sample_block, py::arg("first") = search_defaults.first,
           py::arg("last") = last_of(search_defaults), py::arg("progress") = py::none(), doc);
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
        py::gil_scoped_release release;
        return fit_linear(features.data(), d, n, target.data());
    }, py::arg("features"), py::arg("target"), "OLS with intercept by column-pivoted QR, with error metrics (a LinearFit).");

    add_classification(m);
    add_subset_search(m);
    add_multitask(m);
    add_nested(m);
}

namespace {

// ---- options: the core's structs, defaults and all ---------------------------

void add_options(py::module_& m) {
    py::enum_<Dedup>(m, "Dedup", "Which duplicates a screening drops.")
        .value("String", Dedup::String, "a formula whose string was seen before")
        .value("Value", Dedup::Value, "also a formula whose values equal an earlier one's up to sign and scale");
    py::enum_<SeparationScore>(m, "SeparationScore", "How well formulas separate classes.")
        .value("Overlap", SeparationScore::Overlap, "domain overlap (count, then size or minus the gap)")
        .value("Logistic", SeparationScore::Logistic, "mean log-loss of a penalised logistic fit")
        .value("Accuracy", SeparationScore::Accuracy,
               "training error of a threshold (1 formula) or SVM-normal separator, then margin, then balanced error");

    py::class_<SearchOptions>(m, "SearchOptions", "Options of the pair and triple searches (defaults as in C++).")
        .def(py::init<>())
        .def_readwrite("max_pair_corr", &SearchOptions::max_pair_corr,
                       "combinations with a pairwise |r| >= this are skipped; >= 1 (or <= 0) disables the limit")
        .def_readwrite("keep", &SearchOptions::keep, "best combinations returned")
        .def_readwrite("singular_tol", &SearchOptions::singular_tol,
                       "combinations whose correlation matrix has determinant <= this are skipped")
        .def_readwrite("tile", &SearchOptions::tile, "candidates per side of a Gram tile (a multiple of 16)")
        .def_readwrite("sample_block", &SearchOptions::sample_block,
                       "samples summed per pass over a tile (0: automatic); results are the same for every value")
        .def_readwrite("first", &SearchOptions::first, "a slice: only combinations whose first member is >= first")
        .def_property("last", &last_of,
                      [](SearchOptions& o, std::optional<std::size_t> last) { o.last = last ? *last : SearchOptions{}.last; },
                      "a slice: only combinations whose first member is < last (None: to the end)");

    py::class_<ScreenOptions>(m, "ScreenOptions",
                              "Options of a screening (defaults as in C++; ranking by splits is screen()'s rank_splits).")
        .def(py::init<>())
        .def_readwrite("variance_filter", &ScreenOptions::variance_filter, "drop when |std / mean| < this")
        .def_readwrite("max_abs", &ScreenOptions::max_abs, "drop when the largest |value| is above this")
        .def_readwrite("min_abs", &ScreenOptions::min_abs, "drop when the largest |value| is below this")
        .def_readwrite("dedup", &ScreenOptions::dedup, "which duplicates are dropped (a Dedup)")
        .def_readwrite("keep", &ScreenOptions::keep, "size of the returned top list")
        .def_readwrite("block", &ScreenOptions::block, "candidates per streaming block")
        .def_readwrite("dedup_limit", &ScreenOptions::dedup_limit,
                       "duplicate keys held for an exact deduplication; past it, only the keys of candidates that "
                       "entered the top list (the same top list; the duplicate counts become lower bounds)");

    py::class_<LogisticOptions>(m, "LogisticOptions", "Options of the logistic separator (defaults as in C++).")
        .def(py::init<>())
        .def_readwrite("l2", &LogisticOptions::l2, "penalty (l2 / 2) |w|^2 on the standardised weights (> 0)")
        .def_readwrite("max_iterations", &LogisticOptions::max_iterations, "Newton steps at most")
        .def_readwrite("tolerance", &LogisticOptions::tolerance, "stop when the gradient's largest component is below this");

    py::class_<SvmOptions>(m, "SvmOptions", "Options of the linear SVM (defaults as in C++).")
        .def(py::init<>())
        .def_readwrite("c", &SvmOptions::c, "cost of the squared hinge losses against (|w|^2 + b^2) / 2")
        .def_readwrite("max_iterations", &SvmOptions::max_iterations, "Newton steps at most")
        .def_readwrite("tolerance", &SvmOptions::tolerance, "stop when the gradient is below this times its first value");

    py::class_<AccuracyOptions>(m, "AccuracyOptions", "Options of the accuracy separator (defaults as in C++).")
        .def(py::init<>())
        .def_readwrite("svm", &AccuracyOptions::svm, "the SVM giving the normal of 2 and 3 formulas");

    py::class_<ClassifyOptions>(m, "ClassifyOptions", "Options of the classification searches (defaults as in C++).")
        .def(py::init<>())
        .def_readwrite("score", &ClassifyOptions::score, "the separation score (a SeparationScore)")
        .def_readwrite("screen", &ClassifyOptions::screen, "the 1D screening's options; screen.keep: formulas kept")
        .def_readwrite("keep", &ClassifyOptions::keep, "best pairs (triples) returned")
        .def_readwrite("max_pair_corr", &ClassifyOptions::max_pair_corr,
                       "combinations with a pairwise |r| >= this are skipped; >= 1 disables the limit")
        .def_readwrite("logistic", &ClassifyOptions::logistic, "the logistic fit's options")
        .def_readwrite("accuracy", &ClassifyOptions::accuracy, "the accuracy separator's options")
        .def_readwrite("prune", &ClassifyOptions::prune,
                       "logistic: drop a formula set once a bound shows it cannot make the top list (same result)");
}

// ---- results: the core's structs, arrays as read-only numpy views ------------

// The fields every best-combinations result shares (SearchResult, SubsetSearchResult):
// members, r2, counts and costs; returns the class for the fields of its own.
template <class Result, class Entry>
auto bind_combination_result(py::module_& m, const char* name, const char* doc, const char* gram_doc) {
    using R = Interruptible<Result>;
    return py::class_<R>(m, name, doc)
        .def_property_readonly("members", [](py::object self) {
            const R& r = self.cast<const R&>();
            const auto k = static_cast<py::ssize_t>(r.best.size());
            return view<std::uint32_t>(self, k ? r.best[0].members.data() : nullptr, {k, r.dim},
                                       {static_cast<py::ssize_t>(sizeof(Entry)), sizeof(std::uint32_t)});
        }, "positions of each combination's members in the searched pool (combinations x dim, uint32)")
        .def_property_readonly("r2", [](py::object self) {
            const R& r = self.cast<const R&>();
            return column(self, r.best, r.best.empty() ? nullptr : &r.best[0].r2);
        }, "R^2 of each combination's least-squares fit")
        .def_readonly("dim", &R::dim, "members per combination")
        .def_readonly("n_combinations", &R::n_combinations,
                      "combinations searched: all of the slice's, or when cancelled those evaluated")
        .def_readonly("n_scored", &R::n_scored, "those within the |r| limit and not singular")
        .def_readonly("gram_flops", &R::gram_flops, gram_doc)
        .def_readonly("seconds", &R::seconds, "wall time of the search")
        .def_readonly("peak_bytes", &R::peak_bytes, "candidate values and work buffers held at once")
        .def_readonly("block_size", &R::block_size, "candidates per block of a streamed search (0: in memory)")
        .def_readonly("cancelled", &R::cancelled, "stopped early (progress callback or Ctrl-C)")
        .def_readonly("interrupted", &R::interrupted, "stopped by Ctrl-C");
}

void add_results(py::module_& m) {
    bind_combination_result<SearchResult, Combination>(
        m, "SearchResult", "Best pairs or triples of a search, best first, and what it took.",
        "flops spent on cross-products");

    py::class_<ScreenCounts>(m, "ScreenCounts", "What a screening examined and what each filter dropped.")
        .def_readonly("n_candidates", &ScreenCounts::n_candidates, "candidates generated among those examined")
        .def_readonly("n_screened", &ScreenCounts::n_screened, "indices examined: all unless cancelled")
        .def_readonly("n_out_of_range", &ScreenCounts::n_out_of_range, "dropped by max_abs / min_abs")
        .def_readonly("n_nonfinite", &ScreenCounts::n_nonfinite, "dropped for a non-finite value")
        .def_readonly("n_low_variance", &ScreenCounts::n_low_variance, "dropped by the variance filter")
        .def_readonly("n_string_duplicates", &ScreenCounts::n_string_duplicates, "dropped as string duplicates")
        .def_readonly("n_value_duplicates", &ScreenCounts::n_value_duplicates, "dropped as value duplicates")
        .def_readonly("n_kept", &ScreenCounts::n_kept, "candidates that passed every filter")
        .def_readonly("cancelled", &ScreenCounts::cancelled, "stopped early (progress callback or Ctrl-C)")
        .def_readonly("dedup_bounded", &ScreenCounts::dedup_bounded,
                      "more duplicate keys than dedup_limit: the duplicate counts count only the duplicates of "
                      "candidates that entered the top list");

    using Screen = Interruptible<ScreenResult>;
    py::class_<Screen, ScreenCounts>(m, "ScreenResult", "The best candidates of a screening, best first, and its counts.")
        .def_property_readonly("indices", [](py::object self) {
            const Screen& r = self.cast<const Screen&>();
            return column(self, r.top, r.top.empty() ? nullptr : &r.top[0].index);
        }, "candidate indices (uint64)")
        .def_property_readonly("score", [](py::object self) {
            const Screen& r = self.cast<const Screen&>();
            return column(self, r.top, r.top.empty() ? nullptr : &r.top[0].score);
        }, "ranking score, larger is better: R^2, or minus the mean test MSE when ranked by splits")
        .def_property_readonly("r2", [](py::object self) -> py::object {
            const Screen& r = self.cast<const Screen&>();
            if (!r.score_is_r2) return py::none();
            return column(self, r.top, r.top.empty() ? nullptr : &r.top[0].score);
        }, "R^2 of each candidate's 1D fit; None when ranked by splits")
        .def_readonly("score_is_r2", &Screen::score_is_r2, "False when ranked by the splits' test MSE")
        .def_property_readonly("kept_index", [](py::object self) {
            const Screen& r = self.cast<const Screen&>();
            return view<std::uint64_t>(self, r.kept_index.data(), {static_cast<py::ssize_t>(r.kept_index.size())}, {8});
        }, "with report_values (value dedup): every kept candidate, in generation order (uint64)")
        .def_property_readonly("kept_hash", [](py::object self) {
            const Screen& r = self.cast<const Screen&>();
            return view<std::uint64_t>(self, r.kept_hash.data(), {static_cast<py::ssize_t>(r.kept_hash.size())}, {8});
        }, "the value hash of each of kept_index (uint64)")
        .def_readonly("interrupted", &Screen::interrupted, "stopped by Ctrl-C");

    py::class_<LinearFit>(m, "LinearFit", "A least-squares model y ~ intercept + coefficients . x and its errors.")
        .def_readonly("intercept", &LinearFit::intercept)
        .def_property_readonly("coefficients", [](py::object self) {
            const LinearFit& f = self.cast<const LinearFit&>();
            return view<double>(self, f.coefficients.data(), {static_cast<py::ssize_t>(f.coefficients.size())},
                                {sizeof(double)});
        }, "one per feature")
        .def_readonly("rmse", &LinearFit::rmse)
        .def_readonly("mae", &LinearFit::mae)
        .def_readonly("maxae", &LinearFit::maxae, "largest absolute error")
        .def_readonly("r2", &LinearFit::r2);
}

// ---- classification: separating classes with one or two formulas -----------

void add_classification(py::module_& m) {
    py::class_<LinearClassifier>(m, "LinearClassifier",
                                 "Linear scores in the features' units: per binary problem k (one for two classes, else "
                                 "class k vs the rest) intercept[k] + coefficients[k] . x; two classes: > 0 predicts "
                                 "class 1; more: the largest score wins.")
        .def_readonly("dim", &LinearClassifier::dim, "features")
        .def_readonly("n_classes", &LinearClassifier::n_classes)
        .def_property_readonly("intercept", [](py::object self) {
            const LinearClassifier& f = self.cast<const LinearClassifier&>();
            return view<double>(self, f.intercept.data(), {static_cast<py::ssize_t>(f.intercept.size())},
                                {sizeof(double)});
        }, "one per binary problem")
        .def_property_readonly("coefficients", [](const LinearClassifier& f) {
            py::array_t<double> out({f.coefficients.size(), static_cast<std::size_t>(f.dim)});
            for (std::size_t k = 0; k < f.coefficients.size(); ++k)
                std::copy(f.coefficients[k].begin(), f.coefficients[k].end(), out.mutable_data(k, 0));
            return out;
        }, "binary problems x features")
        .def("predict", [](const LinearClassifier& f, const Array& features) {
            auto rows = rows_of(features);
            if (static_cast<int>(rows.size()) != f.dim) throw std::invalid_argument("features must have one row per feature of the model");
            const std::vector<int> classes = f.predict(rows.data(), static_cast<std::size_t>(features.shape(1)));
            return py::array_t<int>(classes.size(), classes.data());
        }, py::arg("features"), "The predicted class of each sample; features: (features x samples).");

    py::class_<LogisticModel, LinearClassifier>(m, "LogisticModel", "A logistic separator in the features' units.")
        .def_readonly("loss", &LogisticModel::loss, "mean log-loss over the training samples (class-weighted)")
        .def_readonly("accuracy", &LogisticModel::accuracy, "training accuracy")
        .def_readonly("iterations", &LogisticModel::iterations, "Newton steps of the slowest binary problem")
        .def_readonly("converged", &LogisticModel::converged);

    py::class_<SvmModel, LinearClassifier>(m, "SvmModel", "A linear L2-loss SVM on the features as given.")
        .def_readonly("iterations", &SvmModel::iterations, "Newton steps of the slowest binary problem")
        .def_readonly("converged", &SvmModel::converged);

    py::class_<AccuracySeparator, LinearClassifier>(
        m, "AccuracySeparator",
        "The accuracy score's separator (a threshold, or a threshold along an SVM normal) in the features' units; "
        "each score is the signed distance to the threshold in standard deviations.")
        .def_property_readonly("error", [](const AccuracySeparator& f) { return f.key.value; },
                               "training error, class-weighted (balanced weights: the balanced error)")
        .def_property_readonly("key", [](const AccuracySeparator& f) {
            return py::make_tuple(f.key.value, f.key.tie, f.key.tie2);
        }, "the ranking key (error, minus the margin, tie2), lower is better")
        .def_readonly("accuracy", &AccuracySeparator::accuracy, "training accuracy")
        .def_readonly("balanced_accuracy", &AccuracySeparator::balanced_accuracy, "mean over the classes of their accuracy")
        .def_readonly("margin", &AccuracySeparator::margin, "half the gap around the threshold, in standard deviations");

    using ClassScreen = Interruptible<ClassScreenResult>;
    py::class_<ClassScreen, ScreenCounts>(m, "ClassScreenResult",
                                          "The single formulas that best separate the classes, best first, and the counts.")
        .def_property_readonly("indices", [](py::object self) {
            const ClassScreen& r = self.cast<const ClassScreen&>();
            return column(self, r.top, r.top.empty() ? nullptr : &r.top[0].index);
        }, "candidate indices (uint64)")
        .def_property_readonly("count", [](py::object self) {
            const ClassScreen& r = self.cast<const ClassScreen&>();
            return column(self, r.top, r.top.empty() ? nullptr : &r.top[0].key.count);
        }, "samples in another class's domain (0 for the other scores)")
        .def_property_readonly("value", [](py::object self) {
            const ClassScreen& r = self.cast<const ClassScreen&>();
            return column(self, r.top, r.top.empty() ? nullptr : &r.top[0].key.value);
        }, "overlap size or minus the gap; the mean log-loss; or the training error")
        .def_property_readonly("tie", [](py::object self) {
            const ClassScreen& r = self.cast<const ClassScreen&>();
            return column(self, r.top, r.top.empty() ? nullptr : &r.top[0].key.tie);
        }, "accuracy: minus the margin (0 for the other scores)")
        .def_property_readonly("tie2", [](py::object self) {
            const ClassScreen& r = self.cast<const ClassScreen&>();
            return column(self, r.top, r.top.empty() ? nullptr : &r.top[0].key.tie2);
        }, "accuracy: the balanced error (or plain error when classes are weighted)")
        .def_readonly("interrupted", &ClassScreen::interrupted, "stopped by Ctrl-C");

    using Combos = Interruptible<ClassSearchResult>;
    py::class_<Combos>(m, "ClassSearchResult", "The pairs or triples of formulas that best separate the classes, best first.")
        .def_property_readonly("members", [](py::object self) {
            const Combos& r = self.cast<const Combos&>();
            const auto k = static_cast<py::ssize_t>(r.best.size());
            return view<std::uint32_t>(self, k ? r.best[0].members.data() : nullptr, {k, r.dim},
                                       {static_cast<py::ssize_t>(sizeof(ClassifiedCombination)), sizeof(std::uint32_t)});
        }, "positions of each combination's formulas in the pool (combinations x dim, uint32)")
        .def_property_readonly("count", [](py::object self) {
            const Combos& r = self.cast<const Combos&>();
            return column(self, r.best, r.best.empty() ? nullptr : &r.best[0].key.count);
        }, "samples in another class's domain (0 for the other scores)")
        .def_property_readonly("value", [](py::object self) {
            const Combos& r = self.cast<const Combos&>();
            return column(self, r.best, r.best.empty() ? nullptr : &r.best[0].key.value);
        }, "overlap size or minus the gap; the mean log-loss; or the training error")
        .def_property_readonly("tie", [](py::object self) {
            const Combos& r = self.cast<const Combos&>();
            return column(self, r.best, r.best.empty() ? nullptr : &r.best[0].key.tie);
        }, "accuracy: minus the margin")
        .def_property_readonly("tie2", [](py::object self) {
            const Combos& r = self.cast<const Combos&>();
            return column(self, r.best, r.best.empty() ? nullptr : &r.best[0].key.tie2);
        }, "accuracy: the balanced error (or plain error when classes are weighted)")
        .def_readonly("dim", &Combos::dim, "formulas per combination")
        .def_readonly("n_combinations", &Combos::n_combinations, "combinations searched: all of the pool's unless cancelled")
        .def_readonly("n_scored", &Combos::n_scored, "those within the |r| limit")
        .def_readonly("n_fitted", &Combos::n_fitted,
                      "logistic: those fitted to the end, the others dropped by the bound (the count depends on the "
                      "thread schedule; the kept combinations do not)")
        .def_readonly("seconds", &Combos::seconds, "wall time of the search")
        .def_readonly("cancelled", &Combos::cancelled, "stopped early (progress callback or Ctrl-C)")
        .def_readonly("interrupted", &Combos::interrupted, "stopped by Ctrl-C");
    m.attr("PairSearchResult") = m.attr("ClassSearchResult");

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

    const LogisticOptions logistic_defaults;
    m.def("fit_logistic", [](const Array& features, const IntArray& labels, double l2, int max_iterations,
                             double tolerance, const py::object& class_weight) {
        auto rows = rows_of(features);
        ClassLabels cl = labels_of(labels, static_cast<std::size_t>(features.shape(1)), class_weight);
        LogisticOptions opt;
        opt.l2 = l2;
        opt.max_iterations = max_iterations;
        opt.tolerance = tolerance;
        py::gil_scoped_release release;
        return fit_logistic(rows.data(), static_cast<int>(rows.size()), cl, opt);
    }, py::arg("features"), py::arg("labels"), py::arg("l2") = logistic_defaults.l2,
       py::arg("max_iterations") = logistic_defaults.max_iterations, py::arg("tolerance") = logistic_defaults.tolerance,
       py::arg("class_weight") = py::str("none"),
       "L2-penalised logistic separator (one-vs-rest beyond two classes), in the features' units (a LogisticModel); "
       "class_weight: 'none', 'balanced' (each class alike) or one weight per class.");

    const SvmOptions svm_defaults;
    m.def("fit_linear_svm", [](const Array& features, const IntArray& labels, double c, int max_iterations,
                               double tolerance, const py::object& class_weight) {
        auto rows = rows_of(features);
        ClassLabels cl = labels_of(labels, static_cast<std::size_t>(features.shape(1)), class_weight);
        SvmOptions opt;
        opt.c = c;
        opt.max_iterations = max_iterations;
        opt.tolerance = tolerance;
        py::gil_scoped_release release;
        return fit_linear_svm(rows.data(), static_cast<int>(rows.size()), cl, opt);
    }, py::arg("features"), py::arg("labels"), py::arg("c") = svm_defaults.c,
       py::arg("max_iterations") = svm_defaults.max_iterations, py::arg("tolerance") = svm_defaults.tolerance,
       py::arg("class_weight") = py::str("none"),
       "Linear L2-loss SVM (intercept penalised, one-vs-rest beyond two classes) on the features as given: "
       "scikit-learn's LinearSVC(loss='squared_hinge', intercept_scaling=1). An SvmModel.");

    m.def("fit_accuracy_separator", [](const Array& features, const IntArray& labels, const py::object& class_weight,
                                       double svm_c) {
        auto rows = rows_of(features);
        ClassLabels cl = labels_of(labels, static_cast<std::size_t>(features.shape(1)), class_weight);
        AccuracyOptions opt;
        opt.svm.c = svm_c;
        py::gil_scoped_release release;
        return fit_accuracy_separator(rows.data(), static_cast<int>(rows.size()), cl, opt);
    }, py::arg("features"), py::arg("labels"), py::arg("class_weight") = py::str("none"), py::arg("svm_c") = svm_defaults.c,
       "The accuracy score's separator of 1 to 3 features (an AccuracySeparator): the exact best threshold of one; "
       "of two or three, the best threshold along an SVM's normal or along one feature.");

    const ClassifyOptions classify_defaults;
    m.def("screen_classes", [](const CandidateSource& source, const IntArray& labels, const std::string& score,
                               std::size_t keep, double variance_filter, const std::string& dedup, std::size_t block,
                               double max_abs, double min_abs, double l2, const py::object& class_weight, double svm_c,
                               bool prune, py::object progress) {
        ClassifyOptions opt;
        opt.score = separation_of(score);
        opt.screen.keep = keep;
        opt.screen.variance_filter = variance_filter;
        opt.screen.dedup = dedup_of(dedup);
        opt.screen.block = block;
        opt.screen.max_abs = max_abs;
        opt.screen.min_abs = min_abs;
        opt.logistic.l2 = l2;
        opt.accuracy.svm.c = svm_c;
        opt.prune = prune;
        ClassLabels cl = labels_of(labels, source.n_samples(), class_weight);
        return with_progress(std::move(progress), [&](Progress* p) { return screen_classes(source, cl, opt, p); });
    }, py::arg("source"), py::arg("labels"), py::kw_only(), py::arg("score") = separation_name(classify_defaults.score),
       py::arg("keep") = classify_defaults.screen.keep, py::arg("variance_filter") = classify_defaults.screen.variance_filter,
       py::arg("dedup") = dedup_name(classify_defaults.screen.dedup), py::arg("block") = classify_defaults.screen.block,
       py::arg("max_abs") = classify_defaults.screen.max_abs, py::arg("min_abs") = classify_defaults.screen.min_abs,
       py::arg("l2") = classify_defaults.logistic.l2, py::arg("class_weight") = py::str("none"),
       py::arg("svm_c") = classify_defaults.accuracy.svm.c, py::arg("prune") = classify_defaults.prune,
       py::arg("progress") = py::none(),
       "Stream over all candidates: filter, deduplicate, keep the best `keep` single formulas at separating the "
       "classes (a ClassScreenResult).");
    auto combinations = [](int dim) {
        return [dim](const Array& values, const IntArray& labels, const std::string& score, std::size_t keep,
                     double max_pair_corr, double l2, const py::object& class_weight, double svm_c, bool prune,
                     py::object progress) {
            if (values.ndim() != 2) throw std::invalid_argument("values must be 2-D (formulas x samples)");
            ClassifyOptions opt;
            opt.score = separation_of(score);
            opt.keep = keep;
            opt.max_pair_corr = max_pair_corr;
            opt.logistic.l2 = l2;
            opt.accuracy.svm.c = svm_c;
            opt.prune = prune;
            ClassLabels cl = labels_of(labels, static_cast<std::size_t>(values.shape(1)), class_weight);
            return with_progress(std::move(progress), [&](Progress* p) {
                const auto m = static_cast<std::size_t>(values.shape(0));
                return dim == 2 ? search_class_pairs(values.data(), m, cl, opt, p)
                                : search_class_triples(values.data(), m, cl, opt, p);
            });
        };
    };
    for (int dim : {2, 3}) {
        m.def(dim == 2 ? "search_class_pairs" : "search_class_triples", combinations(dim), py::arg("values"),
              py::arg("labels"), py::kw_only(), py::arg("score") = separation_name(classify_defaults.score),
              py::arg("keep") = classify_defaults.keep, py::arg("max_pair_corr") = classify_defaults.max_pair_corr,
              py::arg("l2") = classify_defaults.logistic.l2, py::arg("class_weight") = py::str("none"),
              py::arg("svm_c") = classify_defaults.accuracy.svm.c, py::arg("prune") = classify_defaults.prune,
              py::arg("progress") = py::none(),
              dim == 2 ? "Every pair of the rows of `values` scored at separating the classes; the best `keep`, best "
                         "first (a ClassSearchResult)."
                       : "Every triple of the rows of `values` scored at separating the classes (logistic or accuracy "
                         "score); the best `keep`, best first (a ClassSearchResult).");
    }
}

// Nested cross-validation in one sweep (fold_search.hpp).
void add_nested(py::module_& m) {
    using TestSets = std::vector<std::vector<std::uint32_t>>;
    py::class_<SampleView, CandidateSource>(m, "SampleView",
        "The candidates of a source over some of its samples (e.g. a fold's training part): the same indices, "
        "formulas and rules, values at `samples` only.")
        .def(py::init<const CandidateSource&, std::vector<std::uint32_t>>(), py::arg("source"), py::arg("samples"),
             py::keep_alive<1, 2>())
        .def("__len__", [](const SampleView& v) { return v.size(); })
        .def_property_readonly("n_samples", &SampleView::n_samples);

    const ScreenOptions screen_defaults;
    m.def("screen_folds", [](const CandidateSource& source, const TestSets& test_sets, py::object targets,
                             std::size_t keep, double variance_filter, const std::string& dedup, std::size_t block,
                             double max_abs, double min_abs, py::object progress, std::size_t list_size) {
        const OuterFolds folds(test_sets, source.n_samples());
        // One 1-D target shared by every fold, or per fold a 2-D array (targets x samples).
        std::vector<std::vector<std::vector<double>>> ys;
        auto rows = [](const Array& a) {
            if (a.ndim() != 1 && a.ndim() != 2) throw std::invalid_argument("a target must be 1-D or 2-D");
            const std::size_t r = a.ndim() == 1 ? 1 : static_cast<std::size_t>(a.shape(0));
            const std::size_t len = static_cast<std::size_t>(a.shape(a.ndim() - 1));
            std::vector<std::vector<double>> out;
            for (std::size_t k = 0; k < r; ++k) out.emplace_back(a.data() + k * len, a.data() + (k + 1) * len);
            return out;
        };
        if (py::isinstance<py::list>(targets) || py::isinstance<py::tuple>(targets)) {
            for (auto t : targets) ys.push_back(rows(t.cast<Array>()));
        } else {
            ys.push_back(rows(targets.cast<Array>()));
        }
        ScreenOptions opt;
        opt.keep = keep;
        opt.variance_filter = variance_filter;
        opt.dedup = dedup_of(dedup);
        opt.block = block;
        opt.max_abs = max_abs;
        opt.min_abs = min_abs;
        PyProgress p(std::move(progress));
        std::vector<ScreenResult> r;
        {
            py::gil_scoped_release release;
            r = screen_folds(source, folds, ys, opt, &p, list_size);
        }
        p.rethrow();
        std::vector<Interruptible<ScreenResult>> out;
        for (auto& x : r) out.emplace_back(std::move(x), p.interrupted());
        return out;
    }, py::arg("source"), py::arg("test_sets"), py::arg("targets"), py::kw_only(), py::arg("keep") = screen_defaults.keep,
       py::arg("variance_filter") = screen_defaults.variance_filter, py::arg("dedup") = dedup_name(screen_defaults.dedup),
       py::arg("block") = screen_defaults.block, py::arg("max_abs") = screen_defaults.max_abs,
       py::arg("min_abs") = screen_defaults.min_abs, py::arg("progress") = py::none(), py::arg("list_size") = 0,
       "The screening of every outer fold's training part from one pass over the candidates: a list of "
       "ScreenResult, fold by fold, as screen() over SampleView(source, training part) would give (up to the "
       "last bits of the scores). `targets`: one 1-D target for every fold, or a list with one 2-D array "
       "(targets x all samples; the test part is ignored) per fold.");

    const SearchOptions search_defaults;
    // The pair and triple searches of every outer fold: one binding, two kernels.
    auto bind_fold_search = [&](const char* name, auto kernel, const char* doc) {
        m.def(name, [kernel](const CandidateSource& source, const TestSets& test_sets, const Array& target,
                             const std::vector<std::vector<std::uint64_t>>& pools, double max_pair_corr,
                             std::size_t keep, std::size_t tile, double singular_tol, py::object progress) {
            const OuterFolds folds(test_sets, source.n_samples());
            if (target.ndim() != 1) throw std::invalid_argument("target must be 1-D");
            const std::vector<double> y(target.data(), target.data() + target.size());
            SearchOptions opt = search_options(max_pair_corr, keep, tile, singular_tol, 0, std::nullopt, 0);
            PyProgress p(std::move(progress));
            std::vector<SearchResult> r;
            {
                py::gil_scoped_release release;
                r = kernel(source, folds, y, pools, opt, &p);
            }
            p.rethrow();
            std::vector<Interruptible<SearchResult>> out;
            for (auto& x : r) out.emplace_back(std::move(x), p.interrupted());
            return out;
        }, py::arg("source"), py::arg("test_sets"), py::arg("target"), py::arg("pools"), py::kw_only(),
           py::arg("max_pair_corr") = search_defaults.max_pair_corr, py::arg("keep") = search_defaults.keep,
           py::arg("tile") = search_defaults.tile, py::arg("singular_tol") = search_defaults.singular_tol,
           py::arg("progress") = py::none(), doc);
    };
    bind_fold_search("search_pairs_folds",
                     [](auto&&... a) { return search_pairs_folds(std::forward<decltype(a)>(a)...); },
                     "The pair search of every outer fold in one sweep over the union of the folds' pools: a list of "
                     "SearchResult, fold by fold, members as positions in that fold's pool, as search_pairs over the "
                     "pool standardised on the fold's training part would give (up to the last bits of r2).");
    bind_fold_search("search_triples_folds",
                     [](auto&&... a) { return search_triples_folds(std::forward<decltype(a)>(a)...); },
                     "The triple search of every outer fold over its own pool, standardised on its training part (a "
                     "list of SearchResult, bit for bit search_triples of that set): the folds run side by side, one "
                     "per thread, each taking the next fold as it frees up; progress after each fold the calling thread "
                     "finishes, and after Ctrl-C no fold starts (a fold not run is cancelled, with no triple).");
}

}  // namespace

// ---- combinations of any number of members (d >= 4 beyond the tile kernels) --

namespace {

void add_multitask(py::module_& m) {
    py::class_<MultiTaskSet>(m, "MultiTaskSet",
                             "Candidates standardised task by task (multi-task SISSO); a candidate constant over a "
                             "task is unusable there.")
        .def(py::init([](const Array& values, const Array& target, std::vector<int> tasks) {
                 if (values.ndim() != 2) throw std::invalid_argument("values must be 2-D (candidates x samples)");
                 const auto n = static_cast<std::size_t>(values.shape(1));
                 if (target.ndim() != 1 || static_cast<std::size_t>(target.shape(0)) != n)
                     throw std::invalid_argument("target length does not match the samples of values");
                 const TaskPartition partition(std::move(tasks));
                 py::gil_scoped_release release;
                 return std::make_unique<MultiTaskSet>(values.data(), static_cast<std::size_t>(values.shape(0)), n,
                                                       target.data(), partition);
             }),
             py::arg("values"), py::arg("target"), py::arg("tasks"))
        .def_static("from_candidates", [](const CandidateSource& g, const std::vector<std::uint64_t>& indices,
                                          const Array& target, std::vector<int> tasks) {
            if (target.ndim() != 1 || static_cast<std::size_t>(target.shape(0)) != g.n_samples())
                throw std::invalid_argument("target length does not match the samples");
            const TaskPartition partition(std::move(tasks));
            py::gil_scoped_release release;
            return std::make_unique<MultiTaskSet>(g, indices, target.data(), partition);
        }, py::arg("generator"), py::arg("indices"), py::arg("target"), py::arg("tasks"))
        .def("__len__", &MultiTaskSet::size)
        .def_property_readonly("n_tasks", &MultiTaskSet::n_tasks)
        .def_property_readonly("weights", [](const MultiTaskSet& s) {
            std::vector<double> w;
            for (std::size_t t = 0; t < s.n_tasks(); ++t) w.push_back(s.weight(t));
            return w;
        }, "SST_t / sum SST: the weight of each task's R^2 in the score")
        .def("usable", &MultiTaskSet::usable, py::arg("task"), py::arg("index"));

    const SearchOptions defaults;
    m.def("search_multitask", [](const MultiTaskSet& set, int d, double max_pair_corr, std::size_t keep,
                                 std::size_t tile, double singular_tol, std::size_t first,
                                 std::optional<std::size_t> last, py::object progress, std::size_t sample_block) {
        const SearchOptions opt = search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block);
        return with_progress(std::move(progress), [&](Progress* p) { return search_multitask(set, d, opt, p); });
    }, py::arg("set"), py::arg("d"), py::kw_only(), py::arg("max_pair_corr") = defaults.max_pair_corr,
       py::arg("keep") = defaults.keep, py::arg("tile") = defaults.tile, py::arg("singular_tol") = defaults.singular_tol,
       py::arg("first") = defaults.first, py::arg("last") = last_of(defaults), py::arg("progress") = py::none(),
       py::arg("sample_block") = defaults.sample_block,
       "Best d-subsets (1..8) of a MultiTaskSet by the total SSE of per-task least-squares fits (intercept and "
       "coefficients per task); r2 = 1 - SSE / sum_t SST_t. Skipped: a pair with |r| >= max_pair_corr over some "
       "task, or a correlation matrix with determinant <= singular_tol over some task. Ties: members ascending; "
       "the same for any thread count. (a SubsetSearchResult)");
}

void add_subset_search(py::module_& m) {
    bind_combination_result<SubsetSearchResult, Subset>(
        m, "SubsetSearchResult", "Best combinations of d members, best first, and what it took.",
        "flops spent on the correlations")
        .def_readonly("n_planned", &Interruptible<SubsetSearchResult>::n_planned,
                      "combinations of the search (of the slice)");

    const SearchOptions defaults;
    const char* doc =
        "Best combinations of d members (1..8) by exact OLS fit: every d-subset of the set whose pairwise |r| "
        "are below max_pair_corr and whose correlation matrix has determinant above singular_tol, best `keep` "
        "by r2 (ties: members ascending), the same for any thread count. A depth-first walk with an incremental "
        "Cholesky of the K x K correlations (held once). n_combinations: the d-subsets evaluated (fewer than "
        "n_planned when stopped by progress or Ctrl-C). first / last: a slice of the first member. "
        "(a SubsetSearchResult)";
    auto of_set = [](const StandardizedSet& set, int d, const SearchOptions& opt, py::object progress) {
        return with_progress(std::move(progress), [&](Progress* p) { return search_combinations(set, d, opt, p); });
    };
    m.def("search_combinations", [of_set](const StandardizedSet& set, int d, double max_pair_corr, std::size_t keep,
                                          std::size_t tile, double singular_tol, std::size_t first,
                                          std::optional<std::size_t> last, py::object progress, std::size_t sample_block) {
        return of_set(set, d, search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block),
                      std::move(progress));
    }, py::arg("set"), py::arg("d"), py::kw_only(), py::arg("max_pair_corr") = defaults.max_pair_corr,
       py::arg("keep") = defaults.keep, py::arg("tile") = defaults.tile, py::arg("singular_tol") = defaults.singular_tol,
       py::arg("first") = defaults.first, py::arg("last") = last_of(defaults), py::arg("progress") = py::none(),
       py::arg("sample_block") = defaults.sample_block, doc);
    m.def("search_combinations", [of_set](const Array& values, const Array& target, int d, double max_pair_corr,
                                          std::size_t keep, std::size_t tile, double singular_tol, std::size_t first,
                                          std::optional<std::size_t> last, py::object progress, std::size_t sample_block) {
        auto set = set_of(values, target);
        return of_set(*set, d, search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block),
                      std::move(progress));
    }, py::arg("values"), py::arg("target"), py::arg("d"), py::kw_only(), py::arg("max_pair_corr") = defaults.max_pair_corr,
       py::arg("keep") = defaults.keep, py::arg("tile") = defaults.tile, py::arg("singular_tol") = defaults.singular_tol,
       py::arg("first") = defaults.first, py::arg("last") = last_of(defaults), py::arg("progress") = py::none(),
       py::arg("sample_block") = defaults.sample_block, "The same search over rows of `values` (candidates x samples).");
    m.def("search_combinations_streamed", [](const CandidateSource& source, const std::vector<std::uint64_t>& indices,
                                             const Array& target, int d, double memory_budget_mb, double max_pair_corr,
                                             std::size_t keep, std::size_t tile, double singular_tol,
                                             std::size_t sample_block, std::size_t first,
                                             std::optional<std::size_t> last, py::object progress) {
        if (target.ndim() != 1 || static_cast<std::size_t>(target.shape(0)) != source.n_samples())
            throw std::invalid_argument("target length does not match the samples");
        if (!(memory_budget_mb > 0)) throw std::invalid_argument("memory_budget_mb must be positive");
        for (auto i : indices)
            if (i >= source.size()) throw std::out_of_range("candidate index out of range");
        const SearchOptions opt = search_options(max_pair_corr, keep, tile, singular_tol, first, last, sample_block);
        const auto budget = static_cast<std::size_t>(memory_budget_mb * 1024.0 * 1024.0);
        return with_progress(std::move(progress), [&](Progress* p) {
            return search_combinations_streamed(source, indices, target.data(), d, opt, budget, p);
        });
    }, py::arg("source"), py::arg("indices"), py::arg("target"), py::arg("d"), py::kw_only(),
       py::arg("memory_budget_mb"), py::arg("max_pair_corr") = defaults.max_pair_corr, py::arg("keep") = defaults.keep,
       py::arg("tile") = defaults.tile, py::arg("singular_tol") = defaults.singular_tol,
       py::arg("sample_block") = defaults.sample_block, py::arg("first") = defaults.first,
       py::arg("last") = last_of(defaults), py::arg("progress") = py::none(),
       "search_combinations over StandardizedSet.from_candidates(source, indices, target) with the same result, "
       "holding the K x K correlations (which must fit in memory_budget_mb) and at most two blocks of candidates. "
       "first / last: a slice of the first member (multiples of 16). (a SubsetSearchResult)");
}

}  // namespace
