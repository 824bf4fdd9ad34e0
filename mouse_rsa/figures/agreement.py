"""The method × method agreement matrix: how alike two scorings (methods, image sizes) rank the models."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .style import Figure, pyplot


def _name(method: str, size: str) -> str:
    return method if str(size) == "native" else f"{method} · {size} px"


def agreement_figure(table: pd.DataFrame) -> Figure | None:
    """Per context (one row of panels: dataset and layer set), Spearman ρ (left) and Kendall τ (right) between
    every pair of scorings over all sites (``analysis.agreement.method_agreement``), each cell annotated with
    the value and its 95 % interval over stimulus resamples."""
    data = table[table["scope"] == "all"]
    if data.empty:
        return None
    contexts = list(data.groupby(["dataset", "layer_set", "context"], sort=False))
    names = {ctx: list(dict.fromkeys(
        [_name(m, s) for m, s in zip(rows["method_a"], rows["image_size_a"].astype(str))]
        + [_name(m, s) for m, s in zip(rows["method_b"], rows["image_size_b"].astype(str))])) for ctx, rows in contexts}
    side = max(len(n) for n in names.values())
    fig, axes = pyplot().subplots(len(contexts), 2, squeeze=False, layout="constrained",
                                   figsize=(2 * (1.6 + 1.0 * side), (1.2 + 0.9 * side) * len(contexts)))
    for (ctx, rows), row_axes in zip(contexts, axes):
        labels = names[ctx]
        for ax, statistic in zip(row_axes, ("spearman", "kendall")):
            matrix, text = np.eye(len(labels)), np.full((len(labels), len(labels)), "", dtype=object)
            for r in rows.itertuples():
                i = labels.index(_name(r.method_a, str(r.image_size_a)))
                j = labels.index(_name(r.method_b, str(r.image_size_b)))
                value, low, high = (getattr(r, f"{statistic}{part}") for part in ("", "_low", "_high"))
                matrix[i, j] = matrix[j, i] = value
                text[i, j] = text[j, i] = f"{value:.2f}" + (f"\n[{low:.2f}, {high:.2f}]" if np.isfinite(low) else "")
            image = ax.imshow(matrix, cmap="RdBu", vmin=-1, vmax=1)
            for (i, j), label in np.ndenumerate(text):
                ax.text(j, i, label if i != j else "", ha="center", va="center", fontsize=7,
                        color="white" if abs(matrix[i, j]) > 0.6 else "black")
            ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=45, ha="right")
            ax.set_yticks(range(len(labels)), labels, fontsize=7)
            symbol = r"Spearman $\rho$" if statistic == "spearman" else r"Kendall $\tau$"  # mathtext: the font has no Greek
            ax.set_title(f"{ctx[0]} · {ctx[1]} layers · {int(rows['n_models'].max())} models\n{symbol} "
                         "[95% CI over stimuli]", fontsize=8)
        fig.colorbar(image, ax=row_axes, shrink=0.8, label="rank agreement")
    return fig
