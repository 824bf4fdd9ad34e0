import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mouse_rsa.comparison import summary
from mouse_rsa.stats import bootstrap_ci, paired_comparison


def test_bootstrap_ci_agrees_with_the_t_interval_for_normal_data():
    values = np.random.default_rng(0).normal(0.3, 0.1, size=200)
    low, high = bootstrap_ci(values, seed=1)
    t_low, t_high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert low == pytest.approx(t_low, abs=0.003) and high == pytest.approx(t_high, abs=0.003)
    assert bootstrap_ci(values, seed=1) == (low, high)             # seeded
    assert np.isnan(bootstrap_ci([0.5])).all()                     # one value has no interval
    assert bootstrap_ci([0.2, 0.2, 0.2]) == (0.2, 0.2)


def test_paired_comparison_by_hand():
    pre = np.array([0.30, 0.35, 0.28, 0.40, 0.33])
    ran = np.array([0.20, 0.22, 0.25, 0.30, 0.31])
    rows = []
    for model, shift in (("a", 0.0), ("b", -0.1)):
        for w, values in (("pretrained", pre + shift), ("random", ran)):
            rows += [{"dataset": "d", "method": "rsa_nnls", "model": model, "model_seed": 0, "weights": w,
                      "site": f"s{i}", "score": v} for i, v in enumerate(values)]
    table = paired_comparison(pd.DataFrame(rows)).set_index("model")
    t = stats.ttest_rel(pre, ran)
    assert table.loc["a", "t"] == pytest.approx(t.statistic) and table.loc["a", "p_ttest"] == pytest.approx(t.pvalue)
    assert table.loc["a", "mean_difference"] == pytest.approx((pre - ran).mean())
    assert table.loc["a", "p_bonferroni"] == pytest.approx(min(1.0, 2 * t.pvalue))
    assert table.loc["b", "mean_difference"] == pytest.approx((pre - 0.1 - ran).mean())


def test_paired_comparison_keeps_layer_sets_apart():
    rows = []
    for layer_set, shift in (("all", 0.1), ("latent", -0.1)):
        for w, base in (("pretrained", 0.3 + shift), ("random", 0.3)):
            rows += [{"dataset": "d", "settings_key": "t", "method": "rsa_nnls", "layer_set": layer_set, "model": "a",
                      "model_seed": 0, "weights": w, "site": f"s{i}", "score": base + 0.01 * i * (w == "random")}
                     for i in range(4)]
    table = paired_comparison(pd.DataFrame(rows)).set_index("layer_set")
    assert table.loc["all", "mean_difference"] == pytest.approx(0.1 - 0.015)
    assert table.loc["latent", "mean_difference"] == pytest.approx(-0.1 - 0.015)


def test_comparison_summary_says_both_directions():
    table = pd.DataFrame({"difference": [0.1, 0.2, 0.05, -0.1, 0.3], "p_holm": [0.001, 0.03, 0.2, 0.001, 0.011]})
    assert summary(table).startswith("4 of 5 architectures beat their random twin, 3 significantly; "
                                     "1 were significantly worse")
    assert summary(table.iloc[:0], "Taskonomy tasks").startswith("0 of 0 Taskonomy tasks")
