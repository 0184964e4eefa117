// Best 2D formula model from C++ alone, with the formulasearch library.
//
//   search2d ATOMS.csv COMPOUNDS.csv TARGET CLASSES [GENERATION] [TOP]
//
// ATOMS.csv: a `symbol` column and one numeric column per atomic property.
// COMPOUNDS.csv: columns A, B and TARGET.
// CLASSES: property classes, e.g. "IP,EA;rs,rp,rd;HOMO,LUMO".
// Generates the paper's candidates, keeps the TOP (default 5000) best 1D
// formulas, searches all their pairs and prints the best model.
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "formulasearch/combination_search.hpp"
#include "formulasearch/linear_fit.hpp"
#include "formulasearch/paper_generator.hpp"
#include "formulasearch/screening.hpp"

namespace fs = formulasearch;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, sep)) {
        while (!item.empty() && (item.back() == '\r' || item.back() == ' ')) item.pop_back();
        out.push_back(item);
    }
    return out;
}

// A CSV as a header and rows of strings (no quoting: plain numeric tables).
struct Table {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::size_t column(const std::string& name) const {
        for (std::size_t c = 0; c < header.size(); ++c)
            if (header[c] == name) return c;
        throw std::runtime_error("no column '" + name + "'");
    }
};

Table read_csv(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    Table t;
    std::string line;
    std::getline(in, line);
    t.header = split(line, ',');
    while (std::getline(in, line))
        if (!line.empty()) t.rows.push_back(split(line, ','));
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: search2d ATOMS.csv COMPOUNDS.csv TARGET CLASSES [GENERATION] [TOP]\n";
        return 2;
    }
    try {
        const Table atoms = read_csv(argv[1]), compounds = read_csv(argv[2]);
        const std::string target = argv[3];
        const int generation = argc > 5 ? std::stoi(argv[5]) : 1;
        const std::size_t top = argc > 6 ? std::stoul(argv[6]) : 5000;

        std::map<std::string, std::size_t> atom_row;
        const std::size_t sym = atoms.column("symbol");
        for (std::size_t r = 0; r < atoms.rows.size(); ++r) atom_row[atoms.rows[r][sym]] = r;
        const std::size_t ca = compounds.column("A"), cb = compounds.column("B"), ct = compounds.column(target);

        // Primary variables P_A, P_B of every property, class by class.
        fs::Primaries p;
        p.n_samples = compounds.rows.size();
        std::vector<double> y;
        for (const auto& row : compounds.rows) y.push_back(std::stod(row[ct]));
        for (const std::string& cls : split(argv[4], ';')) {
            std::vector<int> members;
            for (const std::string& prop : split(cls, ',')) {
                const std::size_t col = atoms.column(prop);
                for (const auto site : {std::make_pair(ca, "_A"), std::make_pair(cb, "_B")}) {
                    for (const auto& row : compounds.rows) {
                        auto it = atom_row.find(row[site.first]);
                        if (it == atom_row.end()) throw std::runtime_error("element '" + row[site.first] + "' is not in the atomic table");
                        p.values.push_back(std::stod(atoms.rows[it->second][col]));
                    }
                    members.push_back(static_cast<int>(p.n_vars++));
                    p.names.push_back(prop + site.second);
                }
            }
            p.classes.push_back(members);
        }

        const fs::PaperGenerator gen(p, generation);
        fs::ScreenOptions screen_opt;
        screen_opt.keep = top;
        const fs::ScreenResult screened = fs::screen(gen, y, screen_opt);
        std::vector<std::uint64_t> pool;
        for (const auto& c : screened.top) pool.push_back(c.index);
        const std::vector<double> values = fs::evaluate_candidates(gen, pool);
        const fs::StandardizedSet set(values.data(), pool.size(), p.n_samples, y.data());
        fs::SearchOptions search_opt;
        search_opt.keep = 1;
        const fs::SearchResult found = fs::search_pairs(set, search_opt);
        if (found.best.empty()) {
            std::cout << "no pair satisfies the |r| limit\n";
            return 1;
        }

        // Refit the winner by QR for the reported numbers.
        const auto& best = found.best.front();
        std::vector<double> features;
        std::vector<std::string> formulas;
        for (int d = 0; d < 2; ++d) {
            const std::uint64_t idx = pool[best.members[d]];
            formulas.push_back(gen.formula(idx).to_string(p.names));
            features.insert(features.end(), values.begin() + best.members[d] * p.n_samples,
                            values.begin() + (best.members[d] + 1) * p.n_samples);
        }
        const fs::LinearFit fit = fs::fit_linear(features.data(), 2, p.n_samples, y.data());
        std::cout << std::setprecision(12);
        std::cout << "candidates: " << screened.n_candidates << "\nkept: " << screened.n_kept
                  << "\npairs: " << found.n_combinations << "\n";
        std::cout << "formula_1: " << formulas[0] << "\nformula_2: " << formulas[1] << "\n";
        std::cout << "intercept: " << fit.intercept << "\ncoefficients: " << fit.coefficients[0] << " "
                  << fit.coefficients[1] << "\nrmse: " << fit.rmse << "\n";
    } catch (const std::exception& e) {
        std::cerr << "search2d: error: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
