"""Training diagnostics: how far did the policy move, and is the critic any good?

Symbols: :math:`r = \\pi_\\theta(a|s) / \\pi_{old}(a|s)` is the probability ratio of an
action sampled by the *old* policy; ``ε`` (clip_eps) is PPO's clip range.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from pgcourse._checks import ArrayLike, as_float_tensor, positive, same_shape

__all__ = [
    "approx_kl",
    "clip_fraction",
    "clipped_gradient_mask",
    "explained_variance",
    "grad_norm",
    "step_norm",
]

KL_ESTIMATORS = ("k1", "k3")


def approx_kl(
    old_log_probs: ArrayLike, new_log_probs: ArrayLike, estimator: str = "k3", dim: int | None = None
) -> torch.Tensor:
    r"""Estimate :math:`\mathrm{KL}(\pi_{old} \| \pi_\theta)` from actions sampled by :math:`\pi_{old}`.

    With :math:`\log r = \log\pi_\theta(a|s) - \log\pi_{old}(a|s)`:

    * ``"k1"``: :math:`\mathrm{mean}(-\log r)` — unbiased but noisy, and single
      estimates can be *negative* although a KL never is;
    * ``"k3"``: :math:`\mathrm{mean}((r - 1) - \log r)` — also unbiased (because
      :math:`E_{old}[r] = 1`), lower variance, and every term is :math:`\ge 0`
      since :math:`x - 1 \ge \log x`.

    The mean is over all elements (a scalar float32 tensor, no gradient), or along ``dim``: one estimate
    per batch, e.g. ``dim=1`` on ``(n_batches, B)`` log-probabilities gives ``n_batches`` estimates.
    """
    if estimator not in KL_ESTIMATORS:
        raise ValueError(f"estimator={estimator!r} is not supported; use one of {KL_ESTIMATORS}")
    old = as_float_tensor(old_log_probs, "old_log_probs")
    new = as_float_tensor(new_log_probs, "new_log_probs")
    same_shape(new, old, "new_log_probs", "old_log_probs")
    if dim is not None and not (isinstance(dim, int) and -new.ndim <= dim < new.ndim):
        raise ValueError(f"dim={dim!r} is not an axis of log-probabilities of shape {tuple(new.shape)}")
    log_r = new - old
    terms = -log_r if estimator == "k1" else torch.expm1(log_r) - log_r
    return terms.mean() if dim is None else terms.mean(dim)


def clip_fraction(ratio: ArrayLike, clip_eps: float) -> torch.Tensor:
    r"""Fraction of samples whose ratio left the trust window: :math:`\mathrm{mean}(|r - 1| > \epsilon)`.

    Both sides count, whatever the advantage: it is what PPO logs, not the fraction of samples
    whose gradient the clip switched off (a subset, see :func:`clipped_gradient_mask`).
    """
    clip_eps = positive(clip_eps, "clip_eps")
    r = as_float_tensor(ratio, "ratio")
    if (r < 0).any():
        raise ValueError("ratio contains negative values; a probability ratio is always >= 0")
    return ((r - 1.0).abs() > clip_eps).float().mean()


def clipped_gradient_mask(ratio: ArrayLike, advantages: ArrayLike, clip_eps: float) -> torch.Tensor:
    r"""The samples whose gradient the clip has switched off: :math:`\partial L^{CLIP}_t / \partial r_t = 0`.

    :math:`(\hat A_t > 0 \wedge r_t > 1 + \epsilon) \vee (\hat A_t < 0 \wedge r_t < 1 - \epsilon)`: the ratio left
    the window in the direction its advantage pushes it. A sample that left against its
    advantage (:math:`\hat A_t > 0,\ r_t < 1 - \epsilon`, or :math:`\hat A_t < 0,\ r_t > 1 + \epsilon`) is
    counted by :func:`clip_fraction` but keeps its full gradient :math:`\hat A_t`, which pulls it back.
    A boolean tensor of the shape of ``ratio`` (the advantages as the loss saw them, e.g. normalised).
    """
    clip_eps = positive(clip_eps, "clip_eps")
    r = as_float_tensor(ratio, "ratio")
    a = as_float_tensor(advantages, "advantages")
    same_shape(r, a, "ratio", "advantages")
    return ((a > 0) & (r > 1.0 + clip_eps)) | ((a < 0) & (r < 1.0 - clip_eps))


def explained_variance(values: ArrayLike, returns: ArrayLike) -> torch.Tensor:
    r"""How much of the variance of the returns the critic explains.

    :math:`\mathrm{EV} = 1 - \mathrm{Var}[G - V] / \mathrm{Var}[G]`: 1 for a perfect
    critic, 0 for one that predicts the mean return, negative when worse than that.
    Returns NaN when the returns have zero variance (EV is undefined there).
    """
    v = as_float_tensor(values, "values")
    g = as_float_tensor(returns, "returns")
    same_shape(v, g, "values", "returns")
    var_g = g.var(unbiased=False)
    if var_g == 0:
        return torch.tensor(float("nan"))
    return 1.0 - (g - v).var(unbiased=False) / var_g


def grad_norm(parameters: Iterable[torch.nn.Parameter]) -> float:
    r"""Global L2 norm of all gradients, :math:`\sqrt{\sum_i \|\nabla_i\|^2}`.

    Parameters without a gradient are skipped; no gradient at all gives 0.
    """
    norms = [p.grad.detach().norm(2) for p in parameters if p.grad is not None]
    if not norms:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(norms), 2))


def step_norm(before: torch.Tensor, parameters: Iterable[torch.nn.Parameter]) -> float:
    r"""Length of one update, :math:`\|\Delta\theta\|_2 = \|\theta_{after} - \theta_{before}\|_2`.

    ``before`` is ``torch.nn.utils.parameters_to_vector(parameters)`` taken before the update.
    Under Adam this, not the gradient norm, is the size of a step: each parameter moves by
    about :math:`\mathrm{lr}\cdot\hat m/(\sqrt{\hat v}+\epsilon)`, whatever the scale of its gradient.
    """
    after = torch.nn.utils.parameters_to_vector([p.detach() for p in parameters])
    if after.shape != before.shape:
        raise ValueError(f"step_norm: before has {before.numel()} entries, the parameters {after.numel()}")
    return float((after - before.detach()).norm())
