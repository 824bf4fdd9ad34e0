"""What each registered scoring method costs: its fit and each permutation of its chance level.

On the demo (118 stimuli, 21 sites, the reliable cells) with one model's features (default mobilenet_v2,
random weights, every layer; read from the feature cache, extracted once if missing), each method scores
the model without permutations and with its default number of them (``Method.permutations``; 6 folds,
1 repeat), as a unit does. Printed per method: the fit's seconds, the default unit's scoring seconds,
the seconds per permutation ((t_P − t₀) / P: nulls that fit all permutations at once share work) and
the mean score.

Usage: python benchmarks/methods.py [--model NAME] [--methods rsa_nnls cka ...]
"""
from __future__ import annotations

import argparse
import os
import time

from mouse_rsa import methods
from mouse_rsa.methods.folds import stimulus_folds
from mouse_rsa.neural.targets import load_targets
from mouse_rsa.runner import unit_features, usable_layers
from mouse_rsa.settings import Settings
from mouse_rsa.units import Unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobilenet_v2")
    parser.add_argument("--methods", nargs="+", default=list(methods.REGISTERED))
    args = parser.parse_args()
    settings = Settings(dataset="demo")
    targets = load_targets(settings)
    grams, _ = unit_features(Unit(args.model, "random", methods.DEFAULT, settings), targets.stimuli, progress=False)
    grams = usable_layers(grams, args.model)
    partitions = stimulus_folds(targets.n_stimuli, settings.folds, settings.repeats, settings.cv_seed)
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.model} (random), {grams.n_layers} layers, "
          f"{len(targets.sites)} sites, {targets.cell_means.shape[1]} cells, 6 folds\n")
    print(f"{'method':<16}{'fit s':>8}{'permutations':>14}{'unit s':>9}{'s / permutation':>17}{'mean score':>12}")
    for name in args.methods:
        method = methods.get(name)
        seconds = []
        for permutations in (0, method.permutations):
            design = methods.Design(partitions, settings.cv_seed, permutations,
                                    {field: getattr(settings, field) for field in method.settings_used})
            start = time.perf_counter()
            scored = method.score(grams, targets, design)
            seconds.append(time.perf_counter() - start)
        per_permutation = max(seconds[1] - seconds[0], 0.0) / method.permutations
        print(f"{name:<16}{seconds[0]:>8.2f}{method.permutations:>14}{seconds[1]:>9.1f}{per_permutation:>17.3f}"
              f"{scored.sites['score'].mean():>12.3f}", flush=True)


if __name__ == "__main__":
    main()
