"""What a score means: chance levels, stimulus-bootstrap intervals, seeds as replicates, paired comparisons,
identical networks counted once."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_analysis import ARCHITECTURES, SITES, TASKS, catalogue, synthetic_results, write_unit

import model_zoo
from mouse_rsa import results
from mouse_rsa.analysis import analyze
from mouse_rsa.cli import main
from mouse_rsa.comparison import bootstrap_p, compare
from mouse_rsa.features import Run, extract
from mouse_rsa.identical import same_network
from mouse_rsa.leaderboard import rank
from mouse_rsa.methods import Design, encoding_ridge, nnls, rsa_nnls, with_chance
from mouse_rsa.methods.cells import site_medians
from mouse_rsa.methods.folds import stimulus_folds
from mouse_rsa.rdm import rdm, upper
from mouse_rsa.resampling import UnitScores, interval, seed_bootstrap, stimulus_counts


def _random_rdms(n_stimuli: int, count: int, rng: np.random.Generator, dims: int = 6) -> np.ndarray:
    return upper(np.stack([rdm(rng.normal(size=(n_stimuli, dims))) for _ in range(count)])).T


def test_rsa_chance_level_is_calibrated_on_null_sites():
    """120 sites with no relation to the model: about 5 % have p < 0.05 and the corrected score averages 0."""
    rng = np.random.default_rng(0)
    n = 40
    layers, sites = _random_rdms(n, 6, rng), _random_rdms(n, 120, rng)
    design = Design(stimulus_folds(n, 5, 1, 0), 0, permutations=100)
    score = nnls.fit_cv_nnls(layers, sites, n, design.partitions).scores.mean(axis=0)
    table = with_chance(pd.DataFrame({"score": score}), rsa_nnls.null_scores(layers, sites, n, design))
    assert 0.01 <= (table["p_permutation"] < 0.05).mean() <= 0.10
    corrected = table["score_corrected"]
    assert abs(corrected.mean()) < 2 * corrected.std() / np.sqrt(len(corrected))
    assert table["chance_mean"].mean() < -0.02                      # the raw score's chance level is negative


def test_encoding_chance_level_is_calibrated_on_null_sites():
    rng = np.random.default_rng(1)
    n, n_sites, per_site = 40, 100, 5
    features = [rng.normal(size=(n, d)) for d in (4, 30)]
    grams = encoding_ridge_grams(features)
    responses = rng.normal(size=(n, n_sites * per_site))
    partitions = stimulus_folds(n, 5, 1, 0)
    design = Design(partitions, 0, permutations=100)
    result = encoding_ridge.encode(grams, responses, partitions, null_orders=design.permutation_orders(n))
    site = np.repeat(np.arange(n_sites), per_site).astype(str)
    keys = [str(k) for k in range(n_sites)]
    score = site_medians(result.nested_r, site, keys)
    null = site_medians(result.null, site, keys)
    table = with_chance(pd.DataFrame({"score": score}), null)
    assert 0.01 <= (table["p_permutation"] < 0.05).mean() <= 0.10
    corrected = table["score_corrected"]
    assert abs(corrected.mean()) < 2 * corrected.std() / np.sqrt(len(corrected))
    assert abs(table["chance_mean"].mean()) < 0.03                  # held-out r: chance sits near 0


def encoding_ridge_grams(features):
    from mouse_rsa.features import LayerGrams

    means = [x.mean(axis=1) for x in features]
    centred = [x - m[:, None] for x, m in zip(features, means)]
    return LayerGrams([f"l{i}" for i in range(len(features))], np.stack([c @ c.T for c in centred]),
                      np.stack(means), np.array([x.shape[1] for x in features]), np.zeros(len(features), bool))


def test_planted_demo_sites_beat_chance(demo, demo_scores):
    truth = demo.metadata["ground_truth"]
    rsa = demo_scores[demo_scores["method"] == "rsa_nnls"].set_index(["model", "site"])
    for site, spec in truth.items():
        row = rsa.loc[(spec["model"], site)]
        assert row["p_permutation"] < 0.01 and row["score_corrected"] > row["score"]  # negative chance, planted signal
    assert (demo_scores["chance_sd"] > 0).all() and demo_scores["chance_mean"].notna().all()


def test_the_bootstrap_interval_covers_the_population_value():
    """Samples of 30 stimuli from a population whose model–neural RDM correlation is known (from 1,500
    stimuli): the 95 % stimulus-bootstrap interval of the fixed prediction covers it about as often."""
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(8, 10)), rng.normal(size=(8, 10))
    b[:4] = a[:4]                                                    # the model shares part of the code

    def sample(count):
        f = rng.normal(size=(count, 8))
        neural, model = f @ a + 0.5 * rng.normal(size=(count, 10)), f @ b
        return upper(rdm(neural)), upper(rdm(model))

    population = stats.pearsonr(*sample(1500))[0]
    covered = []
    for k in range(150):
        neural, model = sample(30)
        counts = stimulus_counts(30, 400, seed=k)
        draws = rsa_nnls.resampled_r(model[None, :, None], np.ones((1, 1), bool), neural[:, None], counts)[:, 0]
        low, high = interval(draws)
        covered.append(low <= population <= high)
    assert 0.88 <= np.mean(covered) <= 1.0


def test_resampling_all_stimuli_once_gives_the_units_own_scores(demo_results):
    units = UnitScores.read(demo_results)
    for key in units.table["unit_key"]:
        ones = np.ones((1, units.n_stimuli(key)), dtype=np.int32)
        site_scores = units.scores[units.scores["unit_key"] == key]["score"].to_numpy()
        np.testing.assert_allclose(units.resampled(key, ones)[0], site_scores, atol=2e-6)


def test_held_out_predictions_reproduce_the_fitted_scores():
    rng = np.random.default_rng(3)
    n = 30
    layers, sites = _random_rdms(n, 5, rng), _random_rdms(n, 4, rng)
    sites[:, 0] += 2 * layers[:, 1]
    partitions = stimulus_folds(n, 5, 2, 1)
    fit = nnls.fit_cv_nnls(layers, sites, n, partitions)
    for k, folds in enumerate(partitions):
        prediction = nnls.held_out_predictions(layers, fit, k, folds, n)
        r = [stats.pearsonr(prediction[:, s], sites[:, s])[0] if fit.weights[k, :, s].any() else 0.0
             for s in range(sites.shape[1])]
        np.testing.assert_allclose(r, fit.scores[k], atol=1e-10)


def test_seed_bootstrap_and_p_values_by_hand():
    per_seed = np.array([[1.0, 2.0], [3.0, 4.0]])
    draws = seed_bootstrap(per_seed, 0)
    assert set(draws[:1]) <= {1.0, 2.0, 3.0} and set(draws[1:]) <= {2.0, 3.0, 4.0}
    np.testing.assert_array_equal(seed_bootstrap(per_seed[:1], 0), [1.0, 2.0])   # one seed: the stimuli alone
    assert bootstrap_p(np.full(99, 0.3)) == pytest.approx(2 / 100)                 # never below 2 / (n + 1)
    assert bootstrap_p(np.linspace(-1, 1, 101)) == 1.0
    counts = stimulus_counts(20, 50, 1)
    assert (counts.sum(axis=1) == 20).all() and np.array_equal(counts, stimulus_counts(20, 50, 1))


def test_seeds_are_replicates_on_the_leaderboard_and_any_two_models_compare(tmp_path, demo, capsys):
    out = str(tmp_path / "res")
    assert main(["benchmark", "--model", "alexnet", "squeezenet1_1", "--weights", "random", "--seeds", "0", "1", "2",
                 "--dataset", "demo", "--out", out, "--quiet"]) == 0
    assert main(["leaderboard", out]) == 0
    table = pd.read_csv(f"{out}/leaderboard.csv")
    assert len(table) == 2 and (table["n_seeds"] == 3).all() and (table["model_seeds"] == "0 1 2").all()
    assert (table["seed_sd"] > 0).all() and (table["chance_mean"] < 0).all()
    assert ((table["ci_low"] < table["mean_score"]) & (table["mean_score"] < table["ci_high"])).all()
    assert ((table["rank_low"] <= table["rank"]) & (table["rank"] <= table["rank_high"])).all()
    np.testing.assert_allclose(table["mean_score_corrected"], table["mean_score"] - table["chance_mean"])
    scores = results.read_scores(out)
    per_seed = scores.groupby(["model", "model_seed"])["score"].mean().groupby("model")
    np.testing.assert_allclose(table.set_index("model")["seed_sd"].sort_index(), per_seed.std().sort_index())
    capsys.readouterr()
    assert main(["compare", out, "alexnet", "squeezenet1_1", "-o", str(tmp_path / "cmp.csv")]) == 0
    printed = capsys.readouterr().out
    pair = pd.read_csv(tmp_path / "cmp.csv").iloc[0]
    assert pair["model_a"] == "alexnet" and pair["n_seeds_a"] == pair["n_seeds_b"] == 3
    assert pair["ci_low"] <= pair["difference"] <= pair["ci_high"] and 0 < pair["p_holm"] <= 1
    assert "alexnet" in printed and "p_holm" in printed


def test_random_batch_norm_is_the_identity_unless_calibrated(demo):
    images = demo.stimuli[:8]
    signatures = {}
    for name, calibrate in (("vgg11", False), ("vgg11_bn", False), ("vgg11_bn", True)):
        grams = extract(model_zoo.create(name, "random", seed=0), images, "features.*", 10**9, 0,
                        Run(device="cpu", progress=False, bn_calibration=calibrate))
        signatures[name, calibrate] = grams.rdm_signature()
    assert same_network(signatures["vgg11", False], signatures["vgg11_bn", False])
    assert not same_network(signatures["vgg11", False], signatures["vgg11_bn", True])


def test_bn_calibration_is_in_the_key_of_random_units_only():
    from mouse_rsa.settings import Settings
    from mouse_rsa.units import Unit

    on = Settings(dataset="demo", bn_calibration=True)
    assert Unit("vgg11_bn", "random", "rsa", on).feature_fields()["bn_calibration"] is True
    assert Unit("vgg11_bn", "pretrained", "rsa", on).feature_fields()["bn_calibration"] is False


@pytest.fixture
def twins(tmp_path, monkeypatch):
    """Synthetic results in which random alexnet and vgg11 are one network, and every random task is too."""
    monkeypatch.setattr(model_zoo, "catalogue", catalogue)
    synthetic_results(tmp_path)
    same = np.ones((8, 8))
    for model in ("alexnet", "vgg11"):
        write_unit(tmp_path, model, "random", "all", {s: 0.12 for s in SITES}, n_layers=8, signature=same)
    for task in TASKS:
        write_unit(tmp_path, task, "random", "latent", {s: 0.05 for s in SITES}, rdm=np.arange(435.0),
                   signature=np.ones((1, 8)))
    return tmp_path


def test_identical_networks_are_flagged_refused_and_counted_once(twins, capsys):
    table = rank(twins, n_bootstrap=200).query("layer_set == 'all'").set_index(["model", "weights"])
    assert table.loc[("alexnet", "random"), "identical_to"] == "vgg11 (random)"
    assert table.loc[("alexnet", "pretrained"), "identical_to"] == ""
    found = compare(twins, ["alexnet:random", "vgg11:random", "resnet18:random"], n_bootstrap=200)
    assert len(found.table) == 2 and any("same network" in line for line in found.refused)
    done = analyze(twins, splits=20, permutations=5, n_resamples=200)
    text = "\n".join(done.summary + done.skipped)
    assert "counted once as the same network: alexnet = vgg11" in text
    assert "ANOVA refused" in text and "10 tasks are one network" in text
    assert "signatures refused" in text and "F = 0.00" not in text
    random = pd.read_csv(twins / "analysis" / "property_correlations.csv").query("weights == 'random'")
    assert (random["n_models"] == len(ARCHITECTURES) - 1).all()
    assert main(["leaderboard", str(twins), "--bootstrap", "200"]) == 0
    assert "alexnet (random), vgg11 (random) are one network (every layer RDM identical): count them once" in \
        capsys.readouterr().out
