"""``python -m model_zoo.catalogue``: re-measure the measured columns of every catalogue row and
rewrite catalogue.csv (CPU-heavy: every model is built once).

The catalogue itself is ``model_zoo.catalogue()``; its columns are documented in ``model_zoo.registry``.
"""
from model_zoo.registry import refresh

if __name__ == "__main__":
    refresh()
