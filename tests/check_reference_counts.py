#!/usr/bin/env python3
"""Print the reference counts of the paper's grammar on the octet-82 data.

Not a test: run it by hand (python3 tests/check_reference_counts.py) to see
whether the numpy reference reproduces the numbers of Gajera et al.
Use --gen3 to also evaluate generation 3 in full (about 1.2 GB per variant).
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reference_numpy import (  # noqa: E402
    best_1d,
    load_octet,
    ols_metrics,
    paper_candidate_count,
    paper_candidate_strings,
    paper_candidates,
    screen,
)

EXPECTED = {
    "gen1": 106_400, "gen1_kept": 105_993,
    "gen2": 67_840, "gen2_kept": 67_821,
    "gen3_paper": 1_804_050, "gen3_classes": 1_091_200,
    "gen4": 362_526, "gen4_distinct": 278_106, "gen4_xx": 108,
}


def report(label, got, key):
    exp = EXPECTED[key]
    print(f"  {label:<34s} {got:>10,d}   expected {exp:>10,d}   "
          f"{'OK' if got == exp else 'MISMATCH'}")


def main():
    full_gen3 = "--gen3" in sys.argv[1:]
    matrix, names, classes, y, _ = load_octet()
    print("variables:", names)
    print("classes:", [[names[i] for i in c] for c in classes])
    print()

    print("Candidate counts (enumerated; combinatorial count checked equal)")
    for gen, variant, key in [(1, "paper", "gen1"), (2, "paper", "gen2"),
                              (3, "paper", "gen3_paper"), (3, "classes", "gen3_classes"),
                              (4, "paper", "gen4")]:
        strings = paper_candidate_strings(names, classes, gen, variant)
        comb = paper_candidate_count(classes, gen, variant=variant)
        assert comb == len(strings), (gen, variant, comb, len(strings))
        report(f"generation {gen} ({variant})" if gen == 3 else f"generation {gen}",
               len(strings), key)
    print()

    print("Kept after the finite + variance (|std/mean| >= 0.05) filters")
    kept = {}
    for gen in (1, 2):
        s, v = paper_candidates(matrix, names, classes, gen)
        mask = screen(v, 0.05)
        kept[gen] = (s, v, mask)
        n_nonfinite = int((~np.all(np.isfinite(v), axis=1)).sum())
        print(f"    (generation {gen}: {n_nonfinite} non-finite, "
              f"{int((~mask).sum()) - n_nonfinite} removed by the variance filter)")
        report(f"generation {gen} kept", int(mask.sum()), f"gen{gen}_kept")
    if full_gen3:
        for variant in ("paper", "classes"):
            t = time.time()
            _, v = paper_candidates(matrix, names, classes, 3, variant, with_strings=False)
            mask = screen(v, 0.05)
            print(f"  {'generation 3 (' + variant + ') kept':<34s} {int(mask.sum()):>10,d}"
                  f"   (no published number; {time.time() - t:.0f} s)")
            del v
    print()

    print("Generation 4 strings")
    s4 = paper_candidate_strings(names, classes, 4)
    report("distinct strings", len(set(s4)), "gen4_distinct")
    n_xx = sum(1 for s in s4 if is_literal_xx(s))
    report("literally X/X", n_xx, "gen4_xx")
    print()

    print("Best generation-1 formula by full-set RMSE (all finite candidates)")
    s1, v1, mask1 = kept[1]
    top = best_1d(v1, y, 5)
    for (i,), rmse in top:
        m = ols_metrics(v1[i], y)
        print(f"  {s1[i]:<40s} rmse {rmse:.5f}  slope {m['coefficients'][0]:+.4f}  "
              f"intercept {m['intercept']:+.4f}  kept={bool(mask1[i])}")
    (i,), rmse = top[0]
    m = ols_metrics(v1[i], y)
    ok = (s1[i] == "(rp_B^3 - exp(rs_B))/rp_A^2" and round(rmse, 5) == 0.11926
          and round(m["coefficients"][0], 4) == -0.7507 and round(m["intercept"], 4) == -0.3170)
    print("  expected (rp_B^3 - exp(rs_B))/rp_A^2, RMSE 0.11926, slope -0.7507, "
          f"intercept -0.3170: {'OK' if ok else 'MISMATCH'}")
    top_kept = best_1d(v1[mask1], y, 1)
    print("  best among the kept candidates is the same formula:",
          np.nonzero(mask1)[0][top_kept[0][0][0]] == i)
    print()

    # Self-check of the oracle: closed-form 1D ranking == per-candidate lstsq.
    rng = np.random.default_rng(0)
    sub = rng.choice(np.nonzero(mask1)[0], 3000, replace=False)
    a = best_1d(v1[sub], y, 50)
    b = best_1d(v1[sub], y, 50, method="lstsq")
    same_idx = [t[0] for t in a] == [t[0] for t in b]
    max_diff = max(abs(p[1] - q[1]) for p, q in zip(a, b))
    print(f"oracle self-check: closed-form vs lstsq 1D top-50 on 3000 random kept: "
          f"same order {same_idx}, max |drmse| {max_diff:.2e}")
    prl = "(IP_B - EA_B)/rp_A^2"
    j = s1.index(prl)
    print(f"PRL 2015 descriptor {prl}: RMSE {ols_metrics(v1[j], y)['rmse']:.4f} "
          "(paper: 0.1423)")


def is_literal_xx(s):
    """True when a generation-4 string is  L/(R)  with L and R the same block."""
    # The right block is the trailing "(...)": find the "/(" that starts it by
    # matching parentheses from the end.
    assert s.endswith(")")
    depth = 0
    for k in range(len(s) - 1, -1, -1):
        if s[k] == ")":
            depth += 1
        elif s[k] == "(":
            depth -= 1
            if depth == 0:
                break
    right = s[k + 1:-1]
    left = s[:k - 1]
    assert s[k - 1] == "/"
    if left.startswith("(") and left.endswith(")") and (" + " in left or " - " in left):
        left = left[1:-1]
    return left == right


if __name__ == "__main__":
    main()
