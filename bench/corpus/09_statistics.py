# Descriptive statistics of measurements, outliers by z-score, a linear fit.
import statistics as st

xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
ys = [2.1, 3.9, 6.2, 8.1, 9.8, 12.2, 13.8, 16.1, 18.3, 19.7, 35.0, 24.1]
print("mean", round(st.mean(ys), 3), "median", st.median(ys), "mode", st.mode([1, 2, 2, 3, 3, 3]))
print("stdev", round(st.stdev(ys), 3), "pvariance", round(st.pvariance(ys), 3))
print("quartiles", [round(q, 2) for q in st.quantiles(ys, n=4)])
mu, sd = st.mean(ys), st.stdev(ys)
print("outliers", [y for y in ys if abs(y - mu) / sd > 2])
fit = st.linear_regression(xs, ys)
print("slope", round(fit.slope, 4), "intercept", round(fit.intercept, 4))
print("correlation", round(st.correlation(xs, ys), 4))
print("harmonic", round(st.harmonic_mean([40, 60]), 2), "geometric", round(st.geometric_mean([1, 10, 100]), 2))
