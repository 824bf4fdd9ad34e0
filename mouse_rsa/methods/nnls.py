"""Cross-validated non-negative least squares of site RDMs on layer RDMs, in Gram form (seed 001, 2.4).

All layer RDMs of a model are the regressors of a non-negative least-squares fit (plus a free
intercept) to a site's RDM (Jozwik et al. 2016). Cross-validation is over *stimuli*: for each fold
the fit uses only RDM cells whose two stimuli are both in the training folds, and predicts every
cell that touches a held-out stimulus; a cell predicted by two folds gets the mean. The score is
the Pearson r between the assembled predicted RDM and the site's RDM.

``fit_cv_nnls`` works in Gram form. With the stimuli of a partition in F folds, every RDM cell
belongs to one *block* (the folds of its two stimuli, F(F+1)/2 blocks); each block's sums
(XᵀX, XᵀY, ΣX, ΣY, count) are computed once, shared by all sites, and a fold's training
problem is the sum of the blocks that do not touch it. The non-negative problem
min ‖Xc w − yc‖² (Xc, yc centred over the training cells: the free intercept) is solved on
its Gram G = XcᵀXc, c = Xcᵀyc by block principal pivoting (Kim & Park 2011) for every site,
fold and repeat at once, started from the passive set of the site's fit on all cells. The
held-out predictions are never materialised either: the score's sums Σŷy, Σŷ, Σŷ² follow from
the same block sums. Forming G squares the condition number of Xc, so weights agree with
scipy.optimize.nnls on Xc to about cond(Xc)²·1e-16.

Jitter: every training Gram gets ``JITTER`` × its mean diagonal added to the diagonal, so that a
rank-deficient layer set (two layers with identical RDMs, say) still has one well-defined
solution; the objective moves by at most that much times ‖w‖², and the weights by about
JITTER × cond(G) relatively (1e-12 on well-conditioned layer sets); duplicated layers then share
their weight about equally.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from .folds import fold_labels

JITTER = 1e-12          # × mean diagonal of each training Gram (see module docstring)
_MAX_PIVOTS = 100       # block-principal-pivoting rounds before the scipy fallback
_FEW = 16               # unfinished problems left to the scipy fallback (the slow tail of single exchanges)
_BATCH_ELEMENTS = 5e6   # floats of per-block sums per batch of repeats (~40 MB; more is slower)


@dataclass
class CVNNLSFit:
    """Cross-validated NNLS of every site on all layers."""

    scores: np.ndarray      # (n_repeats, n_sites) Pearson r of the assembled held-out prediction
    weights: np.ndarray     # (n_repeats, n_folds, n_sites, n_layers) non-negative layer weights
    intercepts: np.ndarray  # (n_repeats, n_folds, n_sites) free intercepts


def fit_cv_nnls(layer_vectors: np.ndarray, site_vectors: np.ndarray, n_stimuli: int,
                partitions: list[list[np.ndarray]]) -> CVNNLSFit:
    """Cross-validated NNLS of every site RDM on all layer RDMs (upper triangles, row-major).

    ``layer_vectors`` (n_pairs, n_layers), ``site_vectors`` (n_pairs, n_sites); ``partitions``
    as from ``folds.stimulus_folds`` (every repeat with the same number of folds). A repeat in which no
    layer got weight in any fold predicts fold intercepts only and scores 0.0.
    """
    x, y, n_folds = _check_inputs(layer_vectors, site_vectors, n_stimuli, partitions)
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    x, y = x - x_mean, y - y_mean   # shifts change neither weights nor r (the intercept is free)
    gram, cross = _centred(x.T @ x, x.T @ y, x.sum(axis=0), y.sum(axis=0), len(x))
    start = _solve(gram[None], cross[None], None)[0] > 0                  # passive sets of the full fit
    n_repeats, (n_layers, n_sites) = len(partitions), (x.shape[1], y.shape[1])
    fit = CVNNLSFit(np.zeros((n_repeats, n_sites)), np.zeros((n_repeats, n_folds, n_sites, n_layers)),
                    np.zeros((n_repeats, n_folds, n_sites)))
    pairs = np.triu_indices(n_stimuli, k=1)
    step = max(1, int(_BATCH_ELEMENTS // (n_folds ** 2 * max(n_sites, n_layers) * n_layers)))
    for first in range(0, n_repeats, step):
        batch = range(first, min(first + step, n_repeats))
        blocks = [_BlockSums.of(x, y, _pair_blocks(partitions[r], pairs, n_stimuli), n_folds) for r in batch]
        grams, crosses = zip(*(b.training() for b in blocks))
        weights = _solve(np.concatenate(grams), np.concatenate(crosses), start)
        for offset, (r, b) in enumerate(zip(batch, blocks)):
            w = weights[offset * n_folds:(offset + 1) * n_folds]                  # (folds, sites, layers)
            mean_x, mean_y = b.training_means()
            b0 = mean_y - np.einsum("fsl,fl->fs", w, mean_x)                     # centred coordinates
            fit.scores[r] = np.where((w > 0).any(axis=(0, 2)), b.held_out_r(w, b0), 0.0)
            fit.weights[r], fit.intercepts[r] = w, b0 + y_mean - w @ x_mean
    return fit


def held_out_predictions(layer_vectors: np.ndarray, fit: CVNNLSFit, repeat: int, folds: list[np.ndarray],
                         n_stimuli: int) -> np.ndarray:
    """The assembled held-out prediction (n_pairs, n_sites) of one repeat of ``fit`` (whose partition is
    ``folds``): a cell between stimuli of folds a and b gets the mean of those two folds' fits (one fit
    when a = b), exactly as the score was computed. Only cells touching a fold are multiplied by its fit."""
    x = np.asarray(layer_vectors, dtype=np.float64)
    labels = fold_labels(folds, n_stimuli)
    i, j = np.triu_indices(n_stimuli, k=1)
    a, b = labels[i], labels[j]
    prediction = np.zeros((len(x), fit.weights.shape[2]))
    for k in range(len(folds)):
        share = 0.5 * ((a == k).astype(np.float64) + (b == k))
        touches = np.flatnonzero(share)
        prediction[touches] += share[touches, None] * (x[touches] @ fit.weights[repeat, k].T
                                                        + fit.intercepts[repeat, k])
    return prediction


def _check_inputs(layer_vectors: np.ndarray, site_vectors: np.ndarray, n_stimuli: int,
                  partitions: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray, int]:
    x = np.asarray(layer_vectors, dtype=np.float64)
    y = np.asarray(site_vectors, dtype=np.float64)
    n_pairs = n_stimuli * (n_stimuli - 1) // 2
    if x.ndim != 2 or y.ndim != 2 or len(x) != n_pairs or len(y) != n_pairs:
        raise ValueError(f"layer_vectors and site_vectors must be (n_pairs={n_pairs}, k) upper triangles, "
                         f"got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("layer_vectors and site_vectors must be finite (drop degenerate layers first)")
    n_folds = {len(folds) for folds in partitions}
    if len(n_folds) != 1 or not partitions:
        raise ValueError("every repeat of partitions must have the same number of folds")
    return x, y, n_folds.pop()


def _pair_blocks(folds: list[np.ndarray], pairs: tuple[np.ndarray, np.ndarray], n_stimuli: int) -> np.ndarray:
    """Block index a·F + b (a ≤ b the folds of its two stimuli) of every RDM cell."""
    labels = fold_labels(folds, n_stimuli)
    if (labels < 0).any():
        raise ValueError("the folds of a partition must cover every stimulus")
    a, b = labels[pairs[0]], labels[pairs[1]]
    return np.minimum(a, b) * len(folds) + np.maximum(a, b)


@dataclass
class _BlockSums:
    """Sums over the RDM cells of each block (stimuli in folds a ≤ b; index a·F + b) of one partition."""

    n_folds: int
    count: np.ndarray  # (F²,)
    sx: np.ndarray     # (F², L)
    sy: np.ndarray     # (F², S)
    syy: np.ndarray    # (F², S)
    xx: np.ndarray     # (F², L, L)
    xy: np.ndarray     # (F², L, S)

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, block: np.ndarray, n_folds: int) -> _BlockSums:
        """Block sums of ``x`` (n_pairs, L) and ``y`` (n_pairs, S) given each cell's ``block``."""
        order = np.argsort(block, kind="stable")
        count = np.bincount(block, minlength=n_folds ** 2)
        xs, ys = x[order], y[order]
        n_blocks, n_layers, n_sites = n_folds ** 2, x.shape[1], y.shape[1]
        sums = cls(n_folds, count, np.zeros((n_blocks, n_layers)), np.zeros((n_blocks, n_sites)),
                   np.zeros((n_blocks, n_sites)), np.zeros((n_blocks, n_layers, n_layers)),
                   np.zeros((n_blocks, n_layers, n_sites)))
        ends = np.cumsum(count)
        for k in np.flatnonzero(count):
            cells = slice(ends[k] - count[k], ends[k])
            xb, yb = xs[cells], ys[cells]
            sums.sx[k], sums.sy[k], sums.syy[k] = xb.sum(axis=0), yb.sum(axis=0), (yb * yb).sum(axis=0)
            sums.xx[k], sums.xy[k] = xb.T @ xb, xb.T @ yb
        return sums

    def _train(self, v: np.ndarray) -> np.ndarray:
        """Sum of per-block ``v`` (F², ...) over each fold's training blocks: (F, ...)."""
        a, b = np.divmod(np.arange(self.n_folds ** 2), self.n_folds)
        k = np.arange(self.n_folds)[:, None]
        mask = ((a[None] != k) & (b[None] != k)).astype(np.float64)
        return (mask @ v.reshape(len(v), -1)).reshape(self.n_folds, *v.shape[1:])

    def training(self) -> tuple[np.ndarray, np.ndarray]:
        """Centred (and jittered) training Gram (F, L, L) and cross-products (F, L, S) of each fold."""
        return _centred(self._train(self.xx), self._train(self.xy), self._train(self.sx),
                        self._train(self.sy), self._train(self.count.astype(np.float64)))

    def training_means(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean layer values (F, L) and site values (F, S) over each fold's training cells."""
        n = self._train(self.count.astype(np.float64))[:, None]
        return self._train(self.sx) / n, self._train(self.sy) / n

    def held_out_r(self, w: np.ndarray, b0: np.ndarray) -> np.ndarray:
        """Pearson r per site between y and the assembled held-out prediction of weights ``w``
        (F, S, L) and intercepts ``b0`` (F, S): a cell in folds a and b gets the mean of their fits."""
        used = np.flatnonzero(self.count)
        a, b = np.divmod(used, self.n_folds)
        v, beta = (w[a] + w[b]) / 2, (b0[a] + b0[b]) / 2       # (blocks, S, L), (blocks, S)
        n, sx, sy = self.count[used].astype(np.float64)[:, None], self.sx[used], self.sy[used]
        vx = np.einsum("ksl,kl->ks", v, sx)
        s_p = (vx + beta * n).sum(axis=0)
        s_py = (np.einsum("ksl,kls->ks", v, self.xy[used]) + beta * sy).sum(axis=0)
        s_pp = (np.einsum("ksl,ksl->ks", v @ self.xx[used], v) + 2 * beta * vx + beta ** 2 * n).sum(axis=0)
        total, s_y, s_yy = n.sum(), sy.sum(axis=0), self.syy[used].sum(axis=0)
        var_p = s_pp - s_p ** 2 / total
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (s_py - s_p * s_y / total) / np.sqrt(var_p * (s_yy - s_y ** 2 / total))
        return np.where(np.isfinite(r) & (var_p > 0), r, 0.0)


def _centred(xx: np.ndarray, xy: np.ndarray, sx: np.ndarray, sy: np.ndarray,
             n: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Gram (…, L, L) and cross-products (…, L, S) of the data centred over its n cells, from raw
    sums; the Gram's diagonal gets ``JITTER`` × its mean."""
    n = np.asarray(n, dtype=np.float64)[..., None, None]
    gram = xx - sx[..., :, None] * sx[..., None, :] / n
    cross = xy - sx[..., :, None] * sy[..., None, :] / n
    scale = np.einsum("...ii->...", gram) / gram.shape[-1]
    idx = np.arange(gram.shape[-1])
    gram[..., idx, idx] += JITTER * np.where(scale > 0, scale, 1.0)[..., None]
    return gram, cross


def _solve(gram: np.ndarray, cross: np.ndarray, start: np.ndarray | None) -> np.ndarray:
    """argmin_{w ≥ 0} wᵀGw − 2wᵀc for every Gram G (B, L, L) and every site's c (columns of cross,
    (B, L, S)), by block principal pivoting (Kim & Park 2011) from the passive sets ``start``
    (S, L) bool; once at most ``_FEW`` problems are unfinished, or after ``_MAX_PIVOTS`` rounds, those
    go to scipy's NNLS on the Cholesky factor (the same unique optimum). Returns the weights (B, S, L)."""
    c = np.ascontiguousarray(cross.transpose(0, 2, 1))                    # (B, S, L)
    passive = np.zeros(c.shape, bool) if start is None else np.broadcast_to(start, c.shape).copy()
    x = np.zeros_like(c)
    rounds = np.full(c.shape[:2], 3)                                      # Kim & Park's alpha
    fewest = np.full(c.shape[:2], c.shape[2] + 1)                         # and beta
    todo = np.ones(c.shape[:2], bool)
    tol = 1e-10 * np.abs(c).max(axis=2, keepdims=True)
    for _ in range(_MAX_PIVOTS):
        _passive_solve(gram, c, passive, todo, x)
        g, s = np.nonzero(todo)   # a finished problem stays finished: only the others are checked again
        infeasible = np.zeros_like(passive)
        infeasible[g, s] = np.where(passive[g, s], x[g, s] < 0, _gradient(gram, x, c, g, s) < -tol[g, s])
        count = infeasible.sum(axis=2)
        todo = count > 0
        if todo.sum() <= _FEW:
            break
        passive ^= _exchange(infeasible, count, todo, rounds, fewest)
    for g, s in zip(*np.nonzero(todo)):
        upper = linalg.cholesky(gram[g])
        x[g, s] = optimize.nnls(upper, linalg.solve_triangular(upper, c[g, s], trans="T"))[0]
    return x


def _gradient(gram: np.ndarray, x: np.ndarray, c: np.ndarray, g: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Gx − c (K, L) of the problems (g, s): one product for all problems while most are unfinished,
    else each problem's own row (the last pivoting rounds have few)."""
    if 4 * len(g) > g.size and len(g) * 4 > x.shape[0] * x.shape[1]:
        return (x @ gram - c)[g, s]
    out = np.empty((len(g), x.shape[2]))
    for k in range(0, len(g), 512):                     # bounded gather of the problems' Grams
        rows = slice(k, k + 512)
        out[rows] = np.matmul(x[g[rows], s[rows]][:, None, :], gram[g[rows]])[:, 0] - c[g[rows], s[rows]]
    return out


def _passive_solve(gram: np.ndarray, c: np.ndarray, passive: np.ndarray, todo: np.ndarray,
                   x: np.ndarray) -> None:
    """x ← the unconstrained optimum on each unfinished problem's passive set (0 elsewhere), in place.

    Problems are grouped by passive-set size (in steps of 8) and each group's sub-systems gathered
    into one padded batch (identity on the padding) for one batched solve."""
    g, s = np.nonzero(todo)
    sets = passive[g, s]
    size = sets.sum(axis=1)
    x[g, s] = 0.0
    for bucket in np.unique(-(-size // 8)):
        mine = np.flatnonzero(-(-size // 8) == bucket)
        k = int(size[mine].max())
        if k == 0:
            continue
        idx = np.argsort(~sets[mine], axis=1, kind="stable")[:, :k]      # passive indices first
        valid = np.arange(k) < size[mine, None]
        sub = np.where(valid[:, :, None] & valid[:, None, :],
                       gram[g[mine, None, None], idx[:, :, None], idx[:, None, :]], np.eye(k))
        rhs = np.where(valid, c[g[mine, None], s[mine, None], idx], 0.0)
        solved = np.zeros((len(mine), sets.shape[1]))
        np.put_along_axis(solved, idx, np.linalg.solve(sub, rhs[..., None])[..., 0], axis=1)
        x[g[mine], s[mine]] = solved


def _exchange(infeasible: np.ndarray, count: np.ndarray, todo: np.ndarray, rounds: np.ndarray,
              fewest: np.ndarray) -> np.ndarray:
    """Variables to move between passive and active sets (Kim & Park's rule, updating ``rounds``
    and ``fewest`` in place): all infeasible ones while their number keeps falling or for three
    rounds more, then only the last one (the backup rule that guarantees termination)."""
    better = todo & (count < fewest)
    fewest[better], rounds[better] = count[better], 3
    spend = todo & ~better & (rounds >= 1)
    rounds[spend] -= 1
    flip = infeasible & (better | spend)[..., None]
    single = todo & ~better & ~spend
    last = infeasible.shape[2] - 1 - np.argmax(infeasible[..., ::-1], axis=2)
    flip[single, last[single]] = True
    return flip
