#!/usr/bin/python3
"""Writes tests/drift/fixtures.json: data and the drift scores SciPy computes
for it, which tests/drift_test.cc checks the drift collector against.

Run with Debian's python3-scipy (apt-get install python3-scipy):

    /usr/bin/python3 tests/drift/make_fixtures.py

The data come from numpy's default generator with a fixed seed and are
rounded to 6 significant digits before anything is computed, so the C++
test reads exactly the numbers SciPy saw. The file is committed; the tests
do not need SciPy.

Independent references:
  ks                       scipy.stats.ks_2samp(ref, live).statistic
  wasserstein              scipy.stats.wasserstein_distance(ref, live)
  wasserstein_normalized   the same / numpy.std(ref) (population stddev)
  jensen_shannon           scipy.spatial.distance.jensenshannon(p, q, base=2)
                           over the profile's bins (numeric) or categories
  chi2_statistic, p_value  scipy.stats.chisquare(observed, expected)
  psi                      the formula in docs/drift.md, over the same bins
The bins are the reference profile's: recomputed here from the documented
rule (edges are the values at ranks floor((n-1)k/bins)), so the test also
checks that rule.
"""

import json
import math
import os
import sys

import numpy as np
import scipy
import scipy.spatial.distance
import scipy.stats

SEED = 20261128
BINS = 10
PSI_EPSILON = 1e-4
CHI2_PSEUDO_COUNT = 0.5


def round6(values):
    return [float("%.6g" % v) for v in values]


def rank_edges(values, bins):
    # The values at ranks floor((n-1)k/bins), without repeats of the value
    # or of its printed form ("%.16g", as Prometheus prints le).
    v = sorted(values)
    n = len(v)
    edges = []
    for k in range(bins + 1):
        e = v[(n - 1) * k // bins]
        if edges and (e == edges[-1] or "%.16g" % e == "%.16g" % edges[-1]):
            continue
        edges.append(e)
    return edges


def bin_counts(values, edges):
    # Bin i holds edges[i-1] < v <= edges[i]; the last is above every edge.
    idx = np.searchsorted(np.array(edges), np.array(values), side="left")
    return np.bincount(idx, minlength=len(edges) + 1).astype(float)


def psi(expected, actual):
    e = expected / expected.sum()
    a = actual / actual.sum()
    norm = 1 + PSI_EPSILON * len(e)
    e = (e + PSI_EPSILON) / norm
    a = (a + PSI_EPSILON) / norm
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_case(refs, name, ref_name, live, note):
    ref = refs[ref_name]
    edges = rank_edges(ref, BINS)
    r = bin_counts(ref, edges)
    l = bin_counts(live, edges)
    std = float(np.std(ref))
    w = float(scipy.stats.wasserstein_distance(ref, live))
    expected = {
        "psi": psi(r, l),
        "jensen_shannon": float(
            scipy.spatial.distance.jensenshannon(r, l, base=2)),
        "ks": float(scipy.stats.ks_2samp(ref, live).statistic),
        "wasserstein": w,
    }
    if std > 0:
        expected["wasserstein_normalized"] = w / std
    return {
        "name": name,
        "note": note,
        "reference": ref_name,
        # The reference's own values are not written twice.
        "live": "reference" if live == ref else live,
        "edges": edges,
        "expected": expected,
    }


def categorical_case(name, ref_counts, other_count, other_distinct,
                     live_counts, note):
    listed = list(ref_counts.keys())
    r = np.array([ref_counts[k] for k in listed] + [other_count], dtype=float)
    l = np.array([live_counts.get(k, 0) for k in listed] +
                 [sum(c for k, c in live_counts.items() if k not in ref_counts)],
                 dtype=float)
    n = l.sum()
    unseen = sum(c for k, c in live_counts.items() if k not in ref_counts)
    f_exp = n * (r + CHI2_PSEUDO_COUNT) / (r.sum() + CHI2_PSEUDO_COUNT * len(r))
    chi2 = scipy.stats.chisquare(l, f_exp)
    return {
        "name": name,
        "note": note,
        "reference": {"categories": [[k, ref_counts[k]] for k in listed],
                      "other_count": other_count,
                      "other_distinct": other_distinct},
        "live": [[k, c] for k, c in live_counts.items()],
        "expected": {
            "psi": psi(r, l),
            "jensen_shannon": float(
                scipy.spatial.distance.jensenshannon(r, l, base=2)),
            "chi2_statistic": float(chi2.statistic),
            "chi2_p_value": float(chi2.pvalue),
            "unseen_category_ratio": unseen / n,
        },
    }


def sample_counts(rng, names, p, n):
    draws = rng.choice(len(names), size=n, p=p)
    counts = np.bincount(draws, minlength=len(names))
    return {names[i]: int(counts[i]) for i in range(len(names)) if counts[i]}


def main():
    rng = np.random.default_rng(SEED)
    refs = {
        "normal": round6(rng.normal(0, 1, 5000)),
        "lognormal": round6(rng.lognormal(0, 0.5, 5000)),
        "poisson": [float(x) for x in rng.poisson(3, 5000)],
        "constant": [5.0] * 2000,
    }
    normal = refs["normal"]
    numeric = [
        numeric_case(refs, "identical_values", "normal", list(normal),
                     "live values are the reference values: every score 0"),
        numeric_case(refs, "same_distribution", "normal",
                     round6(rng.normal(0, 1, 2000)),
                     "a new sample of the same normal distribution"),
        numeric_case(refs, "shifted", "normal", round6(rng.normal(0.5, 1, 2000)),
                     "mean shifted by half a standard deviation"),
        numeric_case(refs, "scaled", "normal", round6(rng.normal(0, 2, 2000)),
                     "standard deviation doubled (tails outside the "
                     "reference range)"),
        numeric_case(refs, "disjoint", "normal", round6(rng.uniform(10, 11, 2000)),
                     "every live value above the reference maximum"),
        numeric_case(refs, "single_valued_live", "normal", [0.3] * 2000,
                     "every live value the same, inside the reference range"),
        numeric_case(refs, "lognormal_shifted", "lognormal",
                     round6(rng.lognormal(0.2, 0.5, 2000)),
                     "skewed reference, log-mean shifted by 0.2"),
        numeric_case(refs, "poisson_counts", "poisson",
                     [float(x) for x in rng.poisson(4, 2000)],
                     "integer counts with ties: Poisson(3) against "
                     "Poisson(4)"),
        numeric_case(refs, "constant_reference", "constant",
                     round6(rng.normal(5, 1, 2000)),
                     "single-valued reference (stddev 0: no normalised "
                     "Wasserstein)"),
        numeric_case(refs, "constant_both", "constant", [5.0] * 1000,
                     "single-valued reference and live, the same value"),
    ]

    names = ["DE", "FR", "US", "IT"]
    base = {"DE": 4000, "FR": 3000, "US": 2000, "IT": 1000}
    p = [0.4, 0.3, 0.2, 0.1]
    categorical = [
        categorical_case("same_mix", base, 0, 0,
                         sample_counts(rng, names, p, 2000),
                         "a new sample of the reference mix"),
        categorical_case("identical_mix", base, 0, 0,
                         {"DE": 400, "FR": 300, "US": 200, "IT": 100},
                         "exactly the reference proportions"),
        categorical_case("shifted_mix", base, 0, 0,
                         sample_counts(rng, names, [0.25] * 4, 2000),
                         "uniform mix against 40/30/20/10"),
        categorical_case("new_categories", base, 0, 0,
                         sample_counts(rng, names + ["XX", "YY"],
                                       [0.36, 0.27, 0.18, 0.09, 0.06, 0.04],
                                       2000),
                         "10% of values in two categories the reference "
                         "never saw"),
        categorical_case("single_category", base, 0, 0, {"DE": 1500},
                         "every live value the most common category"),
        categorical_case("disjoint", base, 0, 0, {"ZZ": 800},
                         "every live value a new category"),
        categorical_case("truncated_reference", {"a": 500, "b": 300}, 200, 5,
                         {"a": 450, "b": 350, "c": 150, "d": 50},
                         "the profile lists 2 categories and sums the rest "
                         "as other; c and d count as other (and unseen)"),
        categorical_case("booleans", {"true": 700, "false": 300}, 0, 0,
                         {"true": 520, "false": 480},
                         "a boolean feature"),
    ]

    survival = []
    for x, dof in [(0.5, 1), (3.84, 1), (10, 3), (2.5, 5), (30, 10),
                   (150, 4), (900, 3), (1e-3, 2), (99.5, 100), (250, 200)]:
        survival.append([x, dof, float(scipy.stats.chi2.sf(x, dof))])

    out = {
        "generator": "tests/drift/make_fixtures.py",
        "seed": SEED,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "bins": BINS,
        "psi_epsilon": PSI_EPSILON,
        "chi2_pseudo_count": CHI2_PSEUDO_COUNT,
        "references": refs,
        "numeric": numeric,
        "categorical": categorical,
        "chi2_survival": survival,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "fixtures.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    for c in numeric + categorical:
        print("%-22s %s" % (c["name"], json.dumps(c["expected"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
