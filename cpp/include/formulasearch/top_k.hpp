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
