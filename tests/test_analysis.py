"""The study's analyses on synthetic results with planted effects (values checked by hand or by scipy)."""
import zlib
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import squareform

from mouse_rsa import results
from mouse_rsa.analysis import analyze, anova, properties, signatures
from mouse_rsa.analysis.models import model_table
from mouse_rsa.errors import InvalidInput
from mouse_rsa.methods import with_chance
from mouse_rsa.rdm import permuted_pairs

CLUSTERS = ["2D", "3D", "geometric", "semantic", "miscellaneous"]
GROUP = {"dataset": "synth", "settings_key": "s" * 12, "targets_key": "t" * 16, "method": "rsa_nnls"}
ARCHITECTURES = {  # name: n_params, depth, top1, gflops
    "alexnet": (61.1e6, 8, 56.5, 0.71), "resnet18": (11.7e6, 18, 69.8, 1.81), "vgg11": (132.9e6, 11, 69.0, 7.61),
    "squeezenet1_0": (1.2e6, 26, 58.1, 0.82), "mobilenet_v2": (3.5e6, 53, 71.9, 0.30),
    "densenet121": (8.0e6, 121, 74.4, 2.83)}
TASKS = {f"taskonomy_{c.lower()}_{k}": c for c in CLUSTERS for k in (1, 2)}


def catalogue() -> pd.DataFrame:
    """A catalogue as helper A's: architectures with properties, tasks with clusters, one baseline."""
    rows = [{"name": n, "source": "torchvision", "cluster": "", "n_params": p, "depth": d, "top1": t, "gflops": g}
            for n, (p, d, t, g) in ARCHITECTURES.items()]
    rows += [{"name": n, "source": "taskonomy", "cluster": c, "n_params": 23.6e6, "depth": 53}
             for n, c in TASKS.items()]
    rows.append({"name": "pixels", "source": "baseline", "cluster": ""})
    return pd.DataFrame(rows)


def score_rows(model: str, weights: str, values: dict, layer_set: str = "latent", seed: int = 0) -> list[dict]:
    """Minimal scores rows (the columns the analyses read) for one unit; values: (area, layer) → score."""
    return [{**GROUP, "layer_set": layer_set, "model": model, "weights": weights, "model_seed": seed, "area": a,
             "cortical_layer": c, "site": f"{a}_{c}", "score": v} for (a, c), v in values.items()]


# ---------------------------------------------------------------- ANOVA


def task_scores(effect: dict, noise: float, seed: int, layer_set: str = "latent") -> pd.DataFrame:
    """Balanced design: 10 tasks (2 per cluster) × 6 areas × 3 layers; score = effect[cluster] + noise."""
    rng = np.random.default_rng(seed)
    sites = [(a, c) for a in ("VISp", "VISl", "VISal", "VISpm", "VISam", "VISrl") for c in ("L2/3", "L4", "L5")]
    rows = []
    for task, cluster in TASKS.items():
        rows += score_rows(task, "pretrained", {s: effect[cluster] + noise * rng.normal() for s in sites}, layer_set)
    return pd.DataFrame(rows)


def hand_eta(data: pd.DataFrame, factor: str) -> float:
    """η² of a factor in a balanced design: Σ n_g (mean_g − grand)² / Σ (y − grand)²."""
    grand = data["score"].mean()
    between = data.groupby(factor)["score"].agg(lambda g: len(g) * (g.mean() - grand) ** 2).sum()
    return between / ((data["score"] - grand) ** 2).sum()


def test_anova_finds_a_planted_cluster_effect_and_not_a_planted_null():
    planted = dict(zip(CLUSTERS, [0.10, 0.05, 0.02, 0.08, 0.0]))
    scores = pd.concat([task_scores(planted, 0.02, seed=0, layer_set="latent"),
                        task_scores(dict.fromkeys(CLUSTERS, 0.05), 0.02, seed=1, layer_set="all")])
    observations, _ = anova.task_observations(scores, model_table(catalogue()))
    table = anova.cluster_anova(observations).set_index(["layer_set", "effect"])
    assert set(table.index) == {(s, e) for s in ("latent", "all") for e in ("cluster", "area", "cluster:area",
                                                                             "residual")}
    latent = observations[observations["layer_set"] == "latent"]
    assert table.loc[("latent", "cluster"), "eta_sq"] == pytest.approx(hand_eta(latent, "cluster"), rel=1e-9)
    planted_eta = np.var(list(planted.values())) / (np.var(list(planted.values())) + 0.02**2)  # 0.77
    assert table.loc[("latent", "cluster"), "eta_sq"] == pytest.approx(planted_eta, abs=0.05)
    assert table.loc[("latent", "cluster"), "p"] < 1e-20
    assert table.loc[("latent", "cluster"), "df"] == 4 and table.loc[("latent", "residual"), "df"] == 180 - 30
    assert table.loc[("latent", "area"), "p"] > 0.05                    # no area effect was planted
    assert table.loc[("latent", "area"), "eta_sq"] == pytest.approx(hand_eta(latent, "area"), rel=1e-9)
    every = observations[observations["layer_set"] == "all"]
    assert table.loc[("all", "cluster"), "p"] > 0.05                    # all layers: the null
    assert table.loc[("all", "cluster"), "eta_sq"] == pytest.approx(hand_eta(every, "cluster"), rel=1e-9)
    assert (table["ss_type"] == 2).all() and (table["n_tasks"] == 10).all()


def test_posthoc_pairs_are_welch_tests_with_bonferroni_within_each_family():
    scores = task_scores(dict(zip(CLUSTERS, [0.10, 0.05, 0.02, 0.08, 0.0])), 0.02, seed=0)
    observations, _ = anova.task_observations(scores, model_table(catalogue()))
    table = anova.posthoc(observations)
    pooled = table[table["family"] == "cluster"].set_index(["cluster_1", "cluster_2"])
    assert len(pooled) == 10 and (pooled["n_comparisons"] == 10).all()
    a = observations.loc[observations["cluster"] == "2D", "score"]
    b = observations.loc[observations["cluster"] == "miscellaneous", "score"]
    t = stats.ttest_ind(a, b, equal_var=False)
    assert pooled.loc[("2D", "miscellaneous"), "p"] == pytest.approx(t.pvalue)
    assert pooled.loc[("2D", "miscellaneous"), "p_bonferroni"] == pytest.approx(min(1.0, 10 * t.pvalue))
    within = table[table["family"] == "cluster_within_area"]
    assert len(within) == 60 and (within["n_comparisons"] == 60).all() and set(within["area"]) == {
        "VISp", "VISl", "VISal", "VISpm", "VISam", "VISrl"}


# ---------------------------------------------------------------- property correlations


def zoo_scores(seed: int = 0) -> pd.DataFrame:
    """Pretrained scores that fall with log n_params, random ones that do not; tasks and a baseline too."""
    rng = np.random.default_rng(seed)
    sites = [(a, "L4") for a in ("VISp", "VISl", "VISal", "VISpm")]
    rows = []
    for model, (n_params, *_) in ARCHITECTURES.items():
        level = 0.4 - 0.03 * np.log10(n_params)
        rows += score_rows(model, "pretrained", {s: level + 0.01 * rng.normal() for s in sites}, "all")
        for seed_ in (0, 1):  # two random seeds: averaged per site, then over seeds
            rows += score_rows(model, "random", {s: 0.1 + 0.02 * rng.normal() for s in sites}, "all", seed_)
    rows += score_rows("taskonomy_2d_1", "pretrained", {s: 0.9 for s in sites}, "all")
    rows += score_rows("pixels", "fixed", {s: 0.9 for s in sites}, "all")
    return pd.DataFrame(rows)


def test_property_correlations_match_scipy_on_the_model_means():
    scores = zoo_scores()
    table, _ = properties.property_correlations(scores, model_table(catalogue()), n_resamples=2000, seed=3)
    assert set(table["weights"]) == {"pretrained", "random"}
    assert (table["n_models"] == len(ARCHITECTURES)).all()              # no task model, no baseline
    for weights in ("pretrained", "random"):
        rows = scores[(scores["weights"] == weights) & scores["model"].isin(ARCHITECTURES)]
        means = rows.groupby(["model", "model_seed"])["score"].mean().groupby("model").mean()
        for k, prop in enumerate(properties.PROPERTIES):
            x = np.array([ARCHITECTURES[m][k] for m in means.index])
            got = table[(table["weights"] == weights) & (table["property"] == prop)].set_index("statistic")
            for statistic, test in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
                expected = test(x, means.to_numpy())
                assert got.loc[statistic, "r"] == pytest.approx(expected[0])
                assert got.loc[statistic, "p"] == pytest.approx(expected[1])
                assert got.loc[statistic, "ci_low"] <= got.loc[statistic, "r"] <= got.loc[statistic, "ci_high"]
    pretrained = table[(table["weights"] == "pretrained") & (table["statistic"] == "spearman")]
    assert pretrained.set_index("property").loc["n_params", "r"] == pytest.approx(-1.0)  # planted monotone
    again, _ = properties.property_correlations(scores, model_table(catalogue()), n_resamples=2000, seed=3)
    pd.testing.assert_frame_equal(table, again)                         # seeded bootstrap


def test_property_correlations_need_five_architectures_with_the_property():
    cat = catalogue()
    cat.loc[cat["name"].isin(["alexnet", "resnet18", "vgg11", "squeezenet1_0"]), "top1"] = np.nan
    table, _ = properties.property_correlations(zoo_scores(), model_table(cat), n_resamples=200)
    assert "top1" not in set(table["property"]) and "n_params" in set(table["property"])
    assert properties.property_correlations(zoo_scores()[lambda d: d["model"].isin(["alexnet", "vgg11"])],
                                            model_table(cat), n_resamples=200)[0].empty


def test_vectorised_correlations_match_scipy():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 5, 9))
    assert properties.pearson(x, y, axis=-1)[2] == pytest.approx(stats.pearsonr(x[2], y[2])[0])
    assert properties._spearman(x, y)[4] == pytest.approx(stats.spearmanr(x[4], y[4])[0])
    ties = np.array([[3.0, 1.0, 3.0, 2.0, 1.0], [0.0, 0.0, 0.0, 1.0, 5.0]])
    np.testing.assert_array_equal(properties._ranks(ties), stats.rankdata(ties, axis=1))
    np.testing.assert_array_equal(properties._ranks(ties.T, axis=0), stats.rankdata(ties.T, axis=0))


# ---------------------------------------------------------------- joint NNLS signatures


def test_permuted_pairs_relabels_the_stimuli_of_an_rdm():
    rng = np.random.default_rng(0)
    vector = rng.normal(size=10 * 9 // 2)
    perm = rng.permutation(10)
    rdm = squareform(vector)
    np.testing.assert_array_equal(vector[permuted_pairs(10, perm)], squareform(rdm[perm][:, perm]))
    assert signatures.n_stimuli_of(45) == 10
    with pytest.raises(ValueError):
        signatures.n_stimuli_of(44)


TRUE_SHARES = np.array([[0.5, 0.3, 0.2, 0.0],     # site 0 (VISp)
                        [0.0, 0.0, 0.4, 0.6],     # site 1 (VISp): model 3 through its two regressors
                        [0.25, 0.25, 0.25, 0.25]])  # site 2 (VISl)


def planted_mix(n_stimuli: int = 40, noise: float = 0.3, seed: int = 0):
    """Model RDMs (5 regressors: model 3 owns two) and site RDMs built as a known non-negative mix of them."""
    rng = np.random.default_rng(seed)
    n_pairs = n_stimuli * (n_stimuli - 1) // 2
    regressors = rng.gamma(2.0, size=(n_pairs, 5))                 # positive, like dissimilarities
    z = (regressors - regressors.mean(0)) / regressors.std(0)
    membership = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1]], float)
    columns = TRUE_SHARES[:, [0, 1, 2, 3, 3]] / np.array([1, 1, 1, 2, 2])  # model 3's share split in two
    sites = 1.0 + z @ columns.T + noise * rng.normal(size=(n_pairs, 3))
    return regressors, membership, sites


def test_joint_nnls_recovers_planted_weight_shares():
    regressors, membership, sites = planted_mix()
    design = signatures.SplitDesign(splits=60, folds=6, seed=0, permutations=40)
    fit = signatures.joint_fit(regressors, membership, sites, design)
    assert fit.weights.shape == (60, 3, 4) and fit.null.shape == (40, 3, 4) and fit.scores.shape == (60, 3)
    np.testing.assert_allclose(np.nanmean(signatures.shares(fit.weights), axis=0), TRUE_SHARES, atol=0.03)
    site_table = pd.DataFrame({"site": ["a", "b", "c"], "area": ["VISp", "VISp", "VISl"], "cortical_layer": "L4"})
    model_table_ = pd.DataFrame({"model": ["m0", "m1", "m2", "m3"], "cluster": ["2D", "2D", "3D", "semantic"]})
    tables = signatures.signature_tables(fit, site_table, model_table_)
    by_model = tables["models"].set_index(["site", "model"])
    a0 = by_model.loc[("a", "m0")]
    assert a0["ci_low"] <= a0["weight_share"] <= a0["ci_high"] and a0["ci_high"] - a0["ci_low"] < 0.1
    assert a0["weight"] == pytest.approx(0.5, abs=0.03)                # in site units per z-scored regressor
    assert a0["p_permutation"] == pytest.approx(1 / 41)                   # above every null weight
    assert by_model.loc[("a", "m3"), "p_permutation"] > 0.05              # planted zero
    chance = by_model.loc["a", "null_share"]
    assert chance.sum() == pytest.approx(1.0) and chance["m3"] > chance["m0"]  # m3 has two regressors
    by_cluster = tables["clusters"].set_index(["site", "cluster"])
    assert by_cluster.loc[("a", "2D"), "weight_share"] == pytest.approx(0.8, abs=0.03)
    assert by_cluster.loc[("a", "2D"), "n_models"] == 2
    by_area = tables["areas"].set_index(["area", "cluster"])
    assert by_area.loc[("VISp", "2D"), "weight_share"] == pytest.approx((0.8 + 0.0) / 2, abs=0.03)
    assert by_area.loc[("VISl", "semantic"), "weight_share"] == pytest.approx(0.25, abs=0.03)
    assert by_area.loc[("VISp", "2D"), "n_sites"] == 2 and (tables["models"]["n_splits"] == 60).all()


def test_split_design_rejects_impossible_designs():
    with pytest.raises(InvalidInput, match="folds"):
        signatures.SplitDesign(folds=1)
    with pytest.raises(InvalidInput, match="splits"):
        signatures.SplitDesign(splits=0)


# ---------------------------------------------------------------- analyze on a results directory


N_STIMULI = 30
N_PAIRS = N_STIMULI * (N_STIMULI - 1) // 2
SITES = [(a, c) for a in ("VISp", "VISl", "VISal") for c in ("L2/3", "L4", "L5")]


def synthetic_target(root, site_rdms: np.ndarray | None = None) -> np.ndarray:
    """The synthetic neural target's site RDMs (n_pairs, sites), written under ``root`` once (random unless given)."""
    path = root / GROUP["dataset"] / f"targets-{GROUP['targets_key']}.npz"
    if path.is_file():
        return results.read_targets(root, GROUP["dataset"], GROUP["targets_key"])["vectors"]
    if site_rdms is None:
        site_rdms = np.random.default_rng(99).gamma(2.0, size=(N_PAIRS, len(SITES)))
    targets = SimpleNamespace(name=GROUP["dataset"], key=GROUP["targets_key"], n_stimuli=N_STIMULI, cell_means=None,
                              sites=[SimpleNamespace(key=f"{a}_{c}", ceiling=0.8, ceiling_lower=0.7, ceiling_upper=0.9)
                                     for a, c in SITES],
                              site_vectors=lambda: site_rdms)
    results.write_targets(root, targets)
    return site_rdms


def _prediction(site: np.ndarray, r: float, rng: np.random.Generator) -> np.ndarray:
    """An RDM vector whose Pearson r with ``site`` is exactly ``r``."""
    z = (site - site.mean()) / site.std()
    e = rng.normal(size=len(site))
    e -= e.mean() + (e @ z) / len(z) * z
    e /= e.std()
    r = float(np.clip(r, -0.99, 0.99))
    return 1.0 + 0.1 * (r * z + np.sqrt(1 - r * r) * e)


def write_unit(root, model: str, weights: str, layer_set: str, site_scores: dict, rdm: np.ndarray | None = None,  # noqa: PLR0913
               n_layers: int = 1, signature: np.ndarray | None = None, method: str = "rsa_nnls",
               image_size: str = "native") -> None:
    """One whole unit through ``results.write_unit``: scores per site (held-out predictions built to give
    exactly those scores against the synthetic target, a permutation null around −0.05), a layer
    profile, a layer-RDM signature (random, unless given: equal signatures make identical networks) and
    the latent RDM."""
    fields = {**GROUP, "method": method, "dataset_hash": "h", "model": model, "weights": weights, "model_seed": 0,
              "weights_source": "fixed" if weights == "fixed" else "seed 0", "layer_set": layer_set,
              "cv_seed": 0, "target_seed": 0, "folds": 6, "repeats": 1, "permutations": 20, "ridge_criterion": None, "max_dim": 4096,
              "image_size": image_size,
              "bn_calibration": False, "reliability_threshold": 0.5, "min_cells": 5, "reliability_splits": 10,
              "precision": "float32", "device": "cpu", "code_version": "test", "code_fingerprint": "test"}
    key = results.with_digests(fields)
    rng = np.random.default_rng(zlib.crc32(f"{model}/{weights}/{layer_set}/{method}/{image_size}".encode()))
    target = synthetic_target(root)
    predictions = np.stack([_prediction(target[:, k], site_scores[s], rng) for k, s in enumerate(SITES)], axis=1)
    sites = pd.DataFrame([{"area": a, "cortical_layer": c, "site": f"{a}_{c}", "score": site_scores[(a, c)]}
                          for a, c in SITES])
    null = -0.05 + 0.03 * rng.normal(size=(20, len(SITES)))
    scores = with_chance(sites.assign(n_cells=20, score_r2=np.sign(sites["score"]) * sites["score"] ** 2, ceiling=0.8,
                                      ceiling_lower=0.7, ceiling_upper=0.9,
                                      best_layer="l0", best_layer_index=0,
                                      best_layer_depth=np.clip(sites["score"] * 2, 0, 1), best_layer_score=0.3,
                                      n_layers=n_layers), null)
    scores["score_normalized"] = scores["score_r2"] / 0.8
    depth = np.linspace(0, 1, n_layers) if n_layers > 1 else np.zeros(1)
    layers = pd.concat([sites.assign(layer=f"l{k}", layer_index=k, layer_depth=d,
                                     layer_score=sites["score"] * (1 - (d - 0.3 * (k % 2)) ** 2),
                                     rsa_spearman=sites["score"]).drop(columns="score")
                        for k, d in enumerate(depth)], ignore_index=True)
    rdms = {"latent": rdm} if rdm is not None else {}
    arrays = {"predictions": predictions[None].astype(np.float32), "weighted": np.ones((1, len(SITES)), bool),
              "null": null, "layer_signature": rng.normal(size=(n_layers, 8)) if signature is None else signature}
    results.write_unit(root, results.UnitResult(key, {"model": model}, scores[results.SITE_COLUMNS], layers, {},
                                                rdms, arrays))


def synthetic_results(root, seed: int = 0) -> None:
    """Architectures (pretrained and random, all layers) and Taskonomy tasks (latent with RDMs, and all
    layers): VISp sites are a mix of the 2D tasks' RDMs, the others of the semantic tasks'."""
    rng = np.random.default_rng(seed)
    task_rdms = {task: rng.gamma(2.0, size=N_PAIRS) for task in TASKS}
    site_rdms = np.stack([sum(task_rdms[t] for t, c in TASKS.items() if c == ("2D" if a == "VISp" else "semantic"))
                          + 2.0 * rng.gamma(2.0, size=N_PAIRS) for a, _ in SITES], axis=1)
    synthetic_target(root, site_rdms)
    for task, rdm in task_rdms.items():
        r = {s: stats.pearsonr(rdm, site_rdms[:, k])[0] for k, s in enumerate(SITES)}
        write_unit(root, task, "pretrained", "latent", r, rdm)
        write_unit(root, task, "pretrained", "all", {s: v + 0.1 + 0.02 * rng.normal() for s, v in r.items()},
                   n_layers=6)
    for model, (n_params, *_) in ARCHITECTURES.items():
        level = 0.4 - 0.03 * np.log10(n_params)
        write_unit(root, model, "pretrained", "all", {s: level + 0.01 * rng.normal() for s in SITES}, n_layers=8)
        write_unit(root, model, "random", "all", {s: 0.1 + 0.03 * rng.normal() for s in SITES}, n_layers=8)
    write_unit(root, "pixels", "fixed", "all", {s: 0.05 for s in SITES})


@pytest.fixture
def synthetic_catalogue(monkeypatch):
    import model_zoo

    monkeypatch.setattr(model_zoo, "catalogue", catalogue)


def test_analyze_writes_every_analysis_and_its_summary(tmp_path, synthetic_catalogue):
    synthetic_results(tmp_path)
    done = analyze(tmp_path, splits=50, permutations=20, n_resamples=500)
    names = {p.name for p in done.files}
    assert names == {"pretrained_vs_random.csv", "property_correlations.csv", "anova.csv", "anova_posthoc.csv",
                     "signature_models.csv", "signature_clusters.csv", "signature_areas.csv", "summary.txt"}
    assert all(p.parent == tmp_path / "analysis" for p in done.files)
    assert [s.split(':')[0] for s in done.skipped] == ["skipped method agreement"]  # one method here
    assert f"synth rsa_nnls all: {len(ARCHITECTURES)} of {len(ARCHITECTURES)} architectures beat their random twin" \
        in " ".join(done.summary)
    areas = pd.read_csv(tmp_path / "analysis" / "signature_areas.csv").set_index(["area", "cluster"])
    assert areas.loc[("VISp", "2D"), "weight_share"] > 0.6 and areas.loc[("VISl", "semantic"), "weight_share"] > 0.6
    aov = pd.read_csv(tmp_path / "analysis" / "anova.csv").set_index(["layer_set", "effect"])
    assert aov.loc[("latent", "cluster:area"), "p"] < 1e-6                # the planted dissociation
    assert (tmp_path / "analysis" / "summary.txt").read_text().splitlines() == done.summary + done.skipped


def test_analyze_skips_what_cannot_run_and_says_which_runs_are_missing(tmp_path, synthetic_catalogue):
    for model in ("alexnet", "resnet18", "vgg11"):
        for weights in ("pretrained", "random"):
            write_unit(tmp_path, model, weights, "all", {s: 0.2 for s in SITES})
    done = analyze(tmp_path, out=tmp_path / "out", n_resamples=100)
    assert {p.name for p in done.files} == {"pretrained_vs_random.csv", "summary.txt"}
    assert len(done.skipped) == 4 and any("study:taskonomy --layers latent" in s for s in done.skipped)
    assert any("method agreement" in s and "--method all" in s for s in done.skipped)
    empty = tmp_path / "baseline_only"
    write_unit(empty, "pixels", "fixed", "all", {s: 0.05 for s in SITES})
    with pytest.raises(InvalidInput, match="nothing to analyze.*study:taskonomy") as err:
        analyze(empty)
    assert "\n" not in str(err.value)
    with pytest.raises(InvalidInput, match="value"):
        analyze(tmp_path, value="r2")
