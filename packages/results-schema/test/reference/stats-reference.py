# Reference values for test/stats.test.ts, computed independently with numpy/scipy (Debian python3-numpy, python3-scipy).
# Run: python3 packages/results-schema/test/reference/stats-reference.py  -- a test aid only, not a project dependency.
import numpy as np, scipy, scipy.stats as st, json
print("numpy", np.__version__, "scipy", scipy.__version__)
A = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
C = [10.1, 10.3, 9.8, 10.0, 10.2, 9.9, 10.4, 35.0, 10.1, 2.0, 10.0]
D = [((i * 37) % 101) + (i % 7) * 0.25 for i in range(150)]
E = [0.5, 0.25, 1e6, -3.0, 7.125]
for name, x in [("A", A), ("C", C), ("D", D), ("E", E)]:
    x = np.array(x, dtype=float)
    q = np.percentile(x, [0, 25, 50, 75, 90, 95, 99, 100])
    print(name, json.dumps(dict(n=len(x), mean=repr(float(np.mean(x))), std=repr(float(np.std(x, ddof=1))),
        pct=[repr(float(v)) for v in q], mad=repr(float(st.median_abs_deviation(x))))))
    q1, q3 = np.percentile(x, [25, 75]); iqr = q3 - q1
    print(name, "tukey", int(np.sum(x < q1 - 1.5 * iqr)), int(np.sum(x > q3 + 1.5 * iqr)))
pairs = {
 "A_C": (A, C),
 "ties": ([1, 2, 2, 3, 3, 3, 4], [3, 3, 4, 4, 5, 5, 6, 7]),
 "D_D20": (D, [v + 20 for v in D]),
 "same": ([5, 5, 5], [5, 5]),
 "one_each": ([1.0], [2.0]),
}
for k, (a, b) in pairs.items():
    r = st.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True, method="asymptotic")
    print(k, repr(float(r.statistic)), repr(float(r.pvalue)), repr(float(np.median(b) / np.median(a))))
for z in [0, 0.5, 1.0, 1.96, 2.5, 3.0, 3.5, 5.0, 8.0, 12.0, -1.5, 37.0, 3.5355, 3.5356, 30.0]:
    print("sf", z, repr(float(st.norm.sf(z))))
