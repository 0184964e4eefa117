// A bounded "best k" collection with a total order, so that per-thread lists
// merge into the same result for any partition of the work.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace formulasearch {

// Entry needs: bool better(const Entry& a, const Entry& b), a strict total order
// (score first, then a tie-break on indices).
template <class Entry>
class TopK {
public:
    explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k); }

    std::size_t capacity() const { return k_; }
    std::size_t size() const { return heap_.size(); }
    bool full() const { return heap_.size() >= k_; }
    // The entry that the next admitted one would evict (only when full()).
    const Entry& worst() const { return heap_.front(); }

    // True when the entry entered the list.
    bool push(const Entry& e) {
        if (k_ == 0) return false;
        if (!full()) {
            heap_.push_back(e);
            std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
            return true;
        }
        if (!better(e, heap_.front())) return false;
        std::pop_heap(heap_.begin(), heap_.end(), worse_on_top);
        heap_.back() = e;
        std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
        return true;
    }

    // Adds a batch of entries: the same list as pushing them one by one, in any
    // order. Those better than the current worst join the list and one selection
    // keeps the best k, where a heap update each would cost more (many enter while
    // a long list fills). `entries` is left in an unspecified order.
    void push_all(std::vector<Entry>& entries) {
        if (k_ == 0 || entries.empty()) return;
        const bool was_full = full();
        std::size_t n_in = entries.size();
        if (was_full) {
            const Entry cut = heap_.front();
            n_in = static_cast<std::size_t>(
                std::partition(entries.begin(), entries.end(), [&](const Entry& e) { return better(e, cut); }) -
                entries.begin());
        }
        // Few entering a long list (full or not): a heap update each is cheaper than rebuilding it.
        if (n_in * 16 < k_) {
            for (std::size_t e = 0; e < n_in; ++e) push(entries[e]);
            return;
        }
        heap_.insert(heap_.end(), entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n_in));
        if (heap_.size() > k_) {
            std::nth_element(heap_.begin(), heap_.begin() + static_cast<std::ptrdiff_t>(k_ - 1), heap_.end(),
                             [](const Entry& a, const Entry& b) { return better(a, b); });
            heap_.resize(k_);
        }
        std::make_heap(heap_.begin(), heap_.end(), worse_on_top);
    }

    // Empty again, keeping the storage.
    void clear() { heap_.clear(); }

    void merge(const TopK& other) {
        for (const Entry& e : other.heap_) push(e);
    }

    // Best first.
    std::vector<Entry> sorted() const {
        std::vector<Entry> out = heap_;
        std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return better(a, b); });
        return out;
    }

private:
    static bool worse_on_top(const Entry& a, const Entry& b) { return better(a, b); }
    std::size_t k_;
    std::vector<Entry> heap_;
};

}  // namespace formulasearch
