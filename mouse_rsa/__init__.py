"""mouse-rsa: which deep networks best characterize mouse visual cortex?

The library behind the ``mouse-rsa`` command; every command is one call away::

    import mouse_rsa
    ds = mouse_rsa.load_dataset("demo")
    result = mouse_rsa.benchmark("mobilenet_v2", weights="random", dataset="demo")
    table = mouse_rsa.leaderboard("results")

Nothing here touches the network or the disk on import.
"""
from .benchmark import BenchmarkResult, benchmark
from .data import NeuralDataset, load_dataset
from .errors import DataUnavailable, InvalidInput, MouseRSAError, WeightsUnavailable
from .leaderboard import leaderboard

__all__ = ["benchmark", "BenchmarkResult", "load_dataset", "NeuralDataset", "leaderboard",
           "MouseRSAError", "InvalidInput", "DataUnavailable", "WeightsUnavailable"]
__version__ = "0.1.0"
