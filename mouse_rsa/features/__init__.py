"""A model's features on the stimuli: every layer in one forward pass, kept as per-layer Gram matrices.

* ``extract`` (torch): hook every layer, batch the stimuli, reduce large layers, form the Grams;
* ``grams``: ``LayerGrams``, the per-layer summaries scoring reads (RDMs, linear kernels), no torch;
* ``cache``: those summaries on disk, keyed by the request, found before any model is built.

``extract`` and its helpers are imported on first use, so ``LayerGrams`` and the cache load no torch.
"""
from model_zoo.lazy import lazy_exports

from .grams import LayerGrams

__all__ = ["DEFAULT_BATCH", "DEFAULT_MAX_DIM", "LayerGrams", "Run", "count_sketch", "extract", "resolve_device",
           "sketch", "sketch_size"]
_EXTRACT = {name: "extraction" for name in __all__ if name != "LayerGrams"}

__getattr__, __dir__ = lazy_exports(__name__, _EXTRACT)
