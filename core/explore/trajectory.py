"""Over training: one window's hidden-state path on fixed PCA axes, epoch by epoch.

The axes are fitted once, on the final epoch's h over (a sample of) the test windows, so every
epoch's path is drawn in the same coordinates and the representation can be seen to form.
"""
from __future__ import annotations

import numpy as np

from .. import gates

FIT_WINDOWS = 256  # test windows the axes are fitted on (x 60 steps: 15,000 points is plenty for 2 axes)


def axes(h: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (units,), components (k, units), explained variance ratio (k,)) of h (..., units) by SVD."""
    flat = h.reshape(-1, h.shape[-1]).astype(np.float64)
    mean = flat.mean(axis=0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    var = s ** 2
    ratio = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    k = min(k, vt.shape[0])
    return mean, vt[:k], ratio[:k]


def trajectory(model, X_fit: np.ndarray, window: np.ndarray, history: dict[int, list[np.ndarray]],
               layer: str) -> dict[str, np.ndarray]:
    """The path of one window's h through every saved epoch, on axes fitted on the final epoch.

    Args:
        X_fit: (windows, time steps, features) the windows the axes are fitted on (e.g. test windows).
        window: (time steps, features) the window to follow.
        history: epoch -> weights (runs.weight_history), oldest first.
    Returns:
        "epochs" (E,), "paths" (E, time steps, 2), "explained" (2,), "mean" (units,), "components" (2, units):
        the layout of the view's .npz download.
    """
    epochs = list(history)
    final = gates.replay(model, X_fit, history[epochs[-1]])[layer]["h"]
    mean, components, ratio = axes(final)
    paths = [((gates.replay(model, window[None], history[e])[layer]["h"][0] - mean) @ components.T) for e in epochs]
    return {"epochs": np.asarray(epochs), "paths": np.asarray(paths, dtype=np.float32), "explained": ratio,
            "mean": mean, "components": components}
