"""The ``mouse-rsa`` command: parses arguments, calls the library, prints, maps errors to exit 2."""
from __future__ import annotations

import argparse
import json
import sys
import warnings

from .errors import MouseRSAError


def _cmd_dataset_fetch(args) -> None:
    from .data.allen import allen_path, fetch_allen

    if args.name != "allen":
        raise MouseRSAError(f"only 'allen' can be fetched (the demo is built offline on first use), not {args.name!r}")
    ds = fetch_allen(max_experiments=args.max_experiments, window_s=tuple(args.window))
    print(f"wrote {allen_path()}: {ds.n_cells} cells, {ds.n_stimuli} stimuli, "
          f"{len(ds.metadata['experiments'])} experiments")


def _cmd_dataset_info(args) -> None:
    from .data import load_dataset
    from .sites import select_sites

    ds = load_dataset(args.name)
    sel = select_sites(ds, threshold=args.reliability_threshold, min_cells=args.min_cells, seed=args.seed)
    info = {
        "name": ds.name, "n_stimuli": ds.n_stimuli, "n_cells": ds.n_cells, "n_trials": ds.responses.shape[1],
        "n_reliable_cells": int(sel.reliable.sum()), "reliability_threshold": args.reliability_threshold,
        "min_cells": args.min_cells, "seed": args.seed, "n_sites": len(sel.sites),
        "sites": [{"site": s.key, "area": s.area, "cortical_layer": s.cortical_layer, "n_cells": s.n_cells,
                   "ceiling": round(s.ceiling, 6)} for s in sel.sites],
        "dropped_sites": sel.dropped.to_dict(orient="records"),
        "content_hash": ds.content_hash(),
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return
    print(f"{ds.name}: {ds.n_stimuli} stimuli, {ds.n_cells} cells, {info['n_reliable_cells']} reliable "
          f"(split-half ≥ {args.reliability_threshold}), {len(sel.sites)} sites")
    print(f"{'site':<12}{'n_cells':>8}{'ceiling':>9}")
    for s in info["sites"]:
        print(f"{s['site']:<12}{s['n_cells']:>8}{s['ceiling']:>9.3f}")
    for d in info["dropped_sites"]:
        print(f"dropped {d['area']} {d['cortical_layer']}: {d['n_reliable']} reliable cells < {args.min_cells}")


def _cmd_models(args) -> None:
    import model_zoo

    table = model_zoo.list_models(args.pattern, include_all=args.all)
    if args.json:
        print(table.to_json(orient="records"))
    elif table.empty:
        print(f"no model matches {args.pattern!r}")
    else:
        print(table.to_string(index=False, na_rep=""))


def _cmd_layers(args) -> None:
    import model_zoo
    import numpy as np

    model = model_zoo.create(args.model, weights=model_zoo.offline_weights(args.model), seed=0)
    example = model.preprocess(np.zeros((1, model.input_size, model.input_size), dtype=np.uint8))
    for name in model_zoo.layer_names(model.module, example, args.pattern):
        print(name)


def _cmd_benchmark(args) -> None:
    import model_zoo

    from .benchmark import benchmark
    from .targets import load_targets

    for name in args.model:  # unknown names fail before any work
        model_zoo.info(name)
    targets = load_targets(args.dataset, args.stimuli, args.neural_rdms, args.reliability_threshold,
                           args.min_cells, seed=args.seed)
    failed = []
    for name in args.model:
        try:
            result = benchmark(
                name, weights=args.weights, seed=args.seed, folds=args.folds, repeats=args.repeats,
                method=args.method, out=args.out, layers=args.layers, device=args.device,
                batch_size=args.batch_size, max_dim=args.max_dim, weights_file=args.weights_file,
                use_cache=not args.no_cache, progress=not args.quiet, targets=targets, resume=args.resume,
            )
        except MouseRSAError as err:
            if len(args.model) == 1:
                raise
            print(f"mouse-rsa: error: {err}", file=sys.stderr)
            failed.append(name)
            continue
        for line in result.unavailable:
            print(f"mouse-rsa: skipped {line}", file=sys.stderr)
        s = result.scores
        print(s.pivot_table(index="site", columns=["model", "method", "weights"], values="score",
                            sort=False).round(3).to_string())
        summary = s.groupby(["model", "method", "weights"]).agg(
            mean_score=("score", "mean"), mean_score_normalized=("score_normalized", "mean"),
            n_sites=("site", "size"))
        print(summary.round(4).to_string())
    if args.out:
        print(f"results under {args.out}; rank them with `mouse-rsa leaderboard {args.out}`")
    if failed:
        raise MouseRSAError(f"{len(failed)} of {len(args.model)} models failed: {', '.join(failed)}")


def _cmd_leaderboard(args) -> None:
    from .leaderboard import leaderboard, write

    table = leaderboard(args.directory)
    out = args.output or f"{args.directory}/leaderboard.csv"
    write(table, out)
    shown = ["dataset", "method", "rank", "model", "weights", "mean_score", "ci_low", "ci_high", "n_sites",
             "pretrained_minus_random"]
    print(table[shown].round(4).to_string(index=False, na_rep=""))
    print(f"wrote {out}")


def _cmd_compare(args) -> None:
    from .cache import atomic_path
    from .leaderboard import read_scores
    from .stats import paired_comparison

    table = paired_comparison(read_scores(args.directory))
    if table.empty:
        print("no architecture has both pretrained and random scores; run `mouse-rsa benchmark --weights both`")
        return
    print(table.round(4).to_string(index=False))
    if args.output:
        with atomic_path(args.output) as tmp:
            table.to_csv(tmp, index=False)


def _cmd_figures(args) -> None:
    from .figures import save_figures

    for path in save_figures(args.directory, args.output):
        print(f"wrote {path}")


def build_parser() -> argparse.ArgumentParser:
    from .reliability import DEFAULT_THRESHOLD
    from .sites import DEFAULT_MIN_CELLS

    p = argparse.ArgumentParser(prog="mouse-rsa", description="Which deep networks best characterize mouse visual "
                                "cortex? Score models against Allen Brain Observatory natural-scene responses.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("dataset", help="fetch or describe neural datasets")
    dsub = d.add_subparsers(dest="action", required=True, metavar="ACTION")
    f = dsub.add_parser("fetch", help="download and prepare the Allen natural-scenes data (needs the internet)")
    f.add_argument("name", choices=["allen"])
    f.add_argument("--max-experiments", type=int, default=None, help="only the first N experiments (by id)")
    f.add_argument("--window", type=float, nargs=2, default=(0.0, 0.5), metavar=("START", "END"),
                   help="response window in seconds after onset (default 0 0.5)")
    f.set_defaults(func=_cmd_dataset_fetch)
    i = dsub.add_parser("info", help="stimuli, cells, reliable cells and sites of a dataset")
    i.add_argument("name", metavar="NAME|PATH")
    i.add_argument("--json", action="store_true")
    i.add_argument("--reliability-threshold", type=float, default=DEFAULT_THRESHOLD)
    i.add_argument("--min-cells", type=int, default=DEFAULT_MIN_CELLS)
    i.add_argument("--seed", type=int, default=0)
    i.set_defaults(func=_cmd_dataset_info)

    m = sub.add_parser("models", help="list models with metadata")
    m.add_argument("pattern", nargs="?", default=None, metavar="PATTERN", help="glob, e.g. 'resnet*'")
    m.add_argument("--all", action="store_true", help="include every torchvision and timm name")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=_cmd_models)

    lay = sub.add_parser("layers", help="list the layers extracted from a model, in forward order")
    lay.add_argument("model")
    lay.add_argument("--pattern", default=None, help="glob on layer names")
    lay.set_defaults(func=_cmd_layers)

    b = sub.add_parser("benchmark", help="score a model against every neural site")
    b.add_argument("--model", required=True, nargs="+", metavar="NAME",
                   help="one or more models; cells and site RDMs are prepared once for all")
    b.add_argument("--weights", default="both", choices=["pretrained", "random", "both", "fixed"])
    b.add_argument("--weights-file", default=None, help="local state dict (.pth/.safetensors) for pretrained")
    b.add_argument("--dataset", default="allen", help="allen, demo or a dataset .h5 path (default allen)")
    b.add_argument("--stimuli", default=None, metavar="DIR", help="image files, with --neural-rdms")
    b.add_argument("--neural-rdms", default=None, metavar="FILE.npz", help="one RDM per site key, e.g. VISp_L23")
    b.add_argument("--method", default="rsa", choices=["rsa", "encoding", "all"])
    b.add_argument("--seed", type=int, default=0, help="seed of random weights, projections, folds, splits")
    b.add_argument("--folds", type=int, default=6)
    b.add_argument("--repeats", type=int, default=1, help="repeated k-fold")
    b.add_argument("--layers", default=None, help="glob selecting layers (default: all)")
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    b.add_argument("--batch-size", type=int, default=32)
    b.add_argument("--max-dim", type=int, default=4096, help="random-projection target for large layers")
    b.add_argument("--reliability-threshold", type=float, default=DEFAULT_THRESHOLD)
    b.add_argument("--min-cells", type=int, default=DEFAULT_MIN_CELLS)
    b.add_argument("--out", default="results")
    b.add_argument("--no-cache", action="store_true", help="recompute features instead of reading the cache")
    b.add_argument("--resume", action="store_true",
                   help="keep units already under --out (same data, folds, repeats) instead of redoing them")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.set_defaults(func=_cmd_benchmark)

    lb = sub.add_parser("leaderboard", help="rank every model run under a results directory")
    lb.add_argument("directory", nargs="?", default="results", metavar="DIR")
    lb.add_argument("-o", "--output", default=None, metavar="CSV", help="default DIR/leaderboard.csv")
    lb.set_defaults(func=_cmd_leaderboard)

    c = sub.add_parser("compare", help="pretrained vs random per architecture: paired tests over sites")
    c.add_argument("directory", nargs="?", default="results", metavar="DIR")
    c.add_argument("-o", "--output", default=None, metavar="CSV")
    c.set_defaults(func=_cmd_compare)

    fg = sub.add_parser("figures", help="leaderboard, pretrained-vs-random and best-layer-depth figures (PNG)")
    fg.add_argument("directory", nargs="?", default="results", metavar="DIR")
    fg.add_argument("-o", "--output", default=None, metavar="FIGDIR", help="default DIR/figures")
    fg.set_defaults(func=_cmd_figures)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.formatwarning = lambda message, category, *rest: f"mouse-rsa: warning: {message}\n"
    try:
        args.func(args)
    except MouseRSAError as err:
        if args.debug:
            raise
        print(f"mouse-rsa: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mouse-rsa: interrupted; finished units are kept, run the command again to redo the rest",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
