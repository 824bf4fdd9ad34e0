"""Extraction time and peak memory for every layer of mobilenet_v2 and vgg16 on the demo's 118 stimuli.

Each model runs in a fresh subprocess (random weights, no feature cache) so its peak resident
memory (ru_maxrss) is its own. Usage: python benchmarks/extraction.py [MODEL ...] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(model: str, device: str) -> dict:
    import torch

    import model_zoo
    from mouse_rsa.data import load_dataset
    from mouse_rsa.features import extract

    stimuli = load_dataset("demo").stimuli
    torch.set_num_threads(torch.get_num_threads())
    built = model_zoo.create(model, weights="random", seed=0)
    start = time.perf_counter()
    grams = extract(built, stimuli, device=device, progress=False)
    seconds = time.perf_counter() - start
    peak_gpu = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else 0.0
    return {"model": model, "device": device, "layers": grams.n_layers, "reduced_layers": int(grams.reduced.sum()),
            "largest_layer_units": int(grams.n_units.max()), "seconds": round(seconds, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_gpu_mib": round(peak_gpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", default=["mobilenet_v2", "vgg16"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.models[0], args.device)))
        return
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    for model in args.models:
        out = subprocess.run([sys.executable, __file__, model, "--device", args.device, "--child"],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['model']:<14} {r['layers']:>4} layers ({r['reduced_layers']} projected, largest "
              f"{r['largest_layer_units']:,} units)  {r['seconds']:>7.2f} s  peak RSS {r['peak_rss_mib']:>8.1f} MiB"
              + (f"  peak GPU {r['peak_gpu_mib']:.1f} MiB" if args.device == "cuda" else ""))


if __name__ == "__main__":
    main()
