#include "formulasearch/paper_generator.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace formulasearch {

namespace {

// The paper's unary families g0..g4: x, x^2, x^3, sqrt(|x|), exp(x).
Formula family(int g, int var) {
    Formula x = Formula::variable(var);
    switch (g) {
        case 0: return x;
        case 1: return Formula::unary(Op::Square, x);
        case 2: return Formula::unary(Op::Cube, x);
        case 3: return Formula::unary(Op::SqrtAbs, x);
        default: return Formula::unary(Op::Exp, x);
    }
}

}  // namespace

PaperGenerator::PaperGenerator(Primaries primaries, int generation, PaperVariant variant)
    : primaries_(std::move(primaries)), generation_(generation) {
    primaries_.validate();
    if (generation < 1 || generation > 4) throw std::invalid_argument("paper generation must be 1, 2, 3 or 4");
    if (primaries_.classes.empty()) throw std::invalid_argument("the paper grammar needs at least one property class");
    if (generation == 4) {
        build_blocks();
        shared_ = true;
    } else {
        build_numerators();
        if (generation <= 2) build_denominators();
        shared_ = generation == 3;
    }
    assign_canonical(left_);
    evaluate_parts(left_, left_values_);
    if (!shared_) {
        assign_canonical(right_);
        evaluate_parts(right_, right_values_);
    }
    build_ranges(variant);
}

// Sums and differences inside one class, for every pair of families gi <= gj.
void PaperGenerator::build_numerators() {
    for (std::size_t c = 0; c < primaries_.classes.size(); ++c) {
        const auto& vars = primaries_.classes[c];
        for (int gi = 0; gi < 5; ++gi)
            for (int gj = gi; gj < 5; ++gj)
                for (int u : vars)
                    for (int v : vars) {
                        if (gi == gj && u == v) continue;
                        Formula a = family(gi, u), b = family(gj, v);
                        left_.push_back({Formula::binary(Op::Add, a, b), static_cast<int>(c), 0});
                        left_.push_back({Formula::binary(Op::Sub, a, b), static_cast<int>(c), 0});
                    }
    }
}

// sqrt(|x|), exp(x), x^2, x^3 of every primary variable (never plain x).
void PaperGenerator::build_denominators() {
    for (std::size_t c = 0; c < primaries_.classes.size(); ++c)
        for (int v : primaries_.classes[c])
            for (int g : {3, 4, 1, 2}) right_.push_back({family(g, v), static_cast<int>(c), 0});
}

// Generation 4's richer blocks, per class.
void PaperGenerator::build_blocks() {
    struct Rule {
        int gi, gj;
        std::vector<int> ops;  // 0: u+v, 1: u-v, 2: u*v, 3: u/v, 4: v/u
    };
    const Rule rules[] = {{0, 0, {0, 1}}, {1, 1, {0, 1}}, {2, 2, {0, 1}},    {3, 3, {2, 3, 4}},
                          {4, 4, {2, 3, 4}}, {0, 3, {2}},  {1, 3, {2}},      {2, 3, {2}}};
    for (std::size_t c = 0; c < primaries_.classes.size(); ++c) {
        const auto& vars = primaries_.classes[c];
        for (const Rule& r : rules)
            for (int u : vars)
                for (int v : vars) {
                    if (r.gi == r.gj && u == v) continue;
                    Formula a = family(r.gi, u), b = family(r.gj, v);
                    for (int op : r.ops) {
                        Formula f;
                        switch (op) {
                            case 0: f = Formula::binary(Op::Add, a, b); break;
                            case 1: f = Formula::binary(Op::Sub, a, b); break;
                            case 2: f = Formula::binary(Op::Mul, a, b); break;
                            case 3: f = Formula::binary(Op::Div, a, b); break;
                            default: f = Formula::binary(Op::Div, b, a); break;
                        }
                        left_.push_back({std::move(f), static_cast<int>(c), 0});
                    }
                }
    }
}

void PaperGenerator::evaluate_parts(std::vector<Part>& parts, std::vector<double>& values) const {
    const std::size_t n = primaries_.n_samples;
    values.resize(parts.size() * n);
    for (std::size_t i = 0; i < parts.size(); ++i)
        parts[i].formula.evaluate(primaries_.values.data(), primaries_.n_vars, n, values.data() + i * n);
}

// Parts with identical code get one id, so that two candidates have equal
// strings exactly when their (left, right) ids are equal.
void PaperGenerator::assign_canonical(std::vector<Part>& parts) {
    std::map<Formula, std::uint32_t> ids;
    for (Part& p : parts) {
        auto [it, fresh] = ids.emplace(p.formula, static_cast<std::uint32_t>(ids.size()));
        p.canonical = it->second;
        if (!fresh) has_duplicate_parts_ = true;
    }
}

void PaperGenerator::build_ranges(PaperVariant variant) {
    const auto& right_parts = right();
    const auto n_right = static_cast<std::uint32_t>(right_parts.size());
    // Right parts are grouped by class: find each class's [start, end).
    std::vector<std::uint32_t> start(primaries_.classes.size(), n_right), end(primaries_.classes.size(), 0);
    for (std::uint32_t j = 0; j < n_right; ++j) {
        auto c = static_cast<std::size_t>(right_parts[j].cls);
        start[c] = std::min(start[c], j);
        end[c] = std::max(end[c], j + 1);
    }
    ranges_.reserve(left_.size());
    for (std::uint32_t i = 0; i < left_.size(); ++i) {
        const auto c = static_cast<std::size_t>(left_[i].cls);
        Ranges r{0, 0, 0, 0};
        if (generation_ == 1) {
            r = {0, n_right, 0, 0};
        } else if (generation_ == 2) {
            if (start[c] >= end[c]) r = {0, n_right, 0, 0};
            else r = {0, start[c], end[c], n_right};
        } else if (generation_ == 3 && variant == PaperVariant::Classes) {
            r = {std::max(i + 1, end[c]), n_right, 0, 0};
        } else {
            r = {i + 1, n_right, 0, 0};
        }
        if (r.lo0 > r.hi0) r.lo0 = r.hi0;
        ranges_.push_back(r);
        offsets_.push_back(offsets_.back() + r.count());
    }
}

std::uint32_t PaperGenerator::locate_left(std::uint64_t index) const {
    if (index >= size()) throw std::out_of_range("candidate index out of range");
    auto it = std::upper_bound(offsets_.begin(), offsets_.end(), index);
    return static_cast<std::uint32_t>(it - offsets_.begin() - 1);
}

std::pair<std::uint32_t, std::uint32_t> PaperGenerator::parts_of(std::uint64_t index) const {
    const std::uint32_t i = locate_left(index);
    return {i, ranges_[i].at(static_cast<std::uint32_t>(index - offsets_[i]))};
}

Formula PaperGenerator::formula(std::uint64_t index) const {
    auto [i, j] = parts_of(index);
    return Formula::binary(Op::Div, left_[i].formula, right()[j].formula);
}

std::uint64_t PaperGenerator::string_key(std::uint64_t index) const {
    auto [i, j] = parts_of(index);
    return static_cast<std::uint64_t>(left_[i].canonical) * right().size() + right()[j].canonical;
}

void PaperGenerator::evaluate_range(std::uint64_t begin, std::uint64_t end, double* out) const {
    if (begin >= end) return;
    if (end > size()) throw std::out_of_range("candidate range out of range");
    const std::size_t n = primaries_.n_samples;
    const double* rv = right_values().data();
    std::uint32_t i = locate_left(begin);
    std::uint32_t k = static_cast<std::uint32_t>(begin - offsets_[i]);
    for (std::uint64_t idx = begin; idx < end; ++idx) {
        while (k >= ranges_[i].count()) {  // next left part with candidates
            ++i;
            k = 0;
        }
        const double* a = left_values_.data() + static_cast<std::size_t>(i) * n;
        const double* b = rv + static_cast<std::size_t>(ranges_[i].at(k)) * n;
        for (std::size_t s = 0; s < n; ++s) out[s] = a[s] / b[s];
        out += n;
        ++k;
    }
}

}  // namespace formulasearch
