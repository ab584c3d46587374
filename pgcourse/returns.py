"""Returns, TD errors and Generalised Advantage Estimation.

Symbols (the same in the notebooks):

* ``r_t`` reward at step ``t``, ``γ`` (gamma) discount, ``λ`` (lam) GAE weight;
* ``V(s_t)`` = ``values[t]``; ``next_values[t]`` = V of the *true successor* of
  step ``t`` — the final observation when the episode ended there;
* ``terminated_t`` = 1 when ``s_{t+1}`` is terminal (no future reward exists);
  ``truncated_t`` = 1 when the episode was cut by a time limit (the future exists,
  we just did not see it, so we bootstrap from ``V(s_{t+1})``).

Every function accepts numpy arrays or torch tensors of shape ``(T,)`` or
``(T, N)`` (time first, N parallel environments) and returns float32 tensors.
"""

from __future__ import annotations

import torch

from pgcourse._checks import ArrayLike, as_float_tensor, as_mask, as_time_major, count, same_shape, unit_interval

__all__ = ["discounted_returns", "normalize", "td_errors", "n_step_advantages", "lambda_weights", "gae"]


def discounted_returns(rewards: ArrayLike, gamma: float, episode_ends: ArrayLike | None = None) -> torch.Tensor:
    r"""Reward-to-go :math:`G_t = r_t + \gamma G_{t+1}` (no normalisation).

    ``episode_ends[t] = 1`` (terminated **or** truncated) means step ``t`` is the last
    of its episode, so the sum stops there: :math:`G_t = r_t`. One call therefore
    handles several episodes back to back. The last step of the input is always
    treated as an episode end.
    """
    gamma = unit_interval(gamma, "gamma")
    r = as_time_major(rewards, "rewards")
    ends = as_mask(episode_ends, "episode_ends", r)
    out = torch.empty_like(r)
    running = torch.zeros_like(r[0])
    for t in range(r.shape[0] - 1, -1, -1):
        running = r[t] + gamma * (1.0 - ends[t]) * running
        out[t] = running
    return out


def normalize(x: ArrayLike, eps: float = 1e-8, mask: ArrayLike | None = None) -> torch.Tensor:
    r"""Standardise: :math:`(x - \mathrm{mean}(x)) / (\mathrm{std}(x) + \epsilon)` over *all* elements.

    With ``mask`` (1 = keep), mean and std are computed over the kept elements only
    and masked-out elements are returned as 0. A single element normalises to 0.
    """
    t = as_float_tensor(x, "x")
    if eps < 0:
        raise ValueError(f"eps={eps} is outside the allowed range [0, inf)")
    keep = torch.ones_like(t) if mask is None else as_float_tensor(mask, "mask")
    same_shape(keep, t, "mask", "x")
    n = keep.sum()
    if n == 0:
        raise ValueError("mask keeps no element of x; at least one is needed")
    mean = (t * keep).sum() / n
    var = (((t - mean) ** 2) * keep).sum() / torch.clamp(n - 1, min=1)
    return (t - mean) / (var.sqrt() + eps) * keep


def td_errors(
    rewards: ArrayLike,
    values: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike | None,
    gamma: float,
) -> torch.Tensor:
    r"""One-step TD errors :math:`\delta_t = r_t + \gamma (1 - \mathrm{terminated}_t) V(s_{t+1}) - V(s_t)`."""
    gamma = unit_interval(gamma, "gamma")
    r = as_time_major(rewards, "rewards")
    v = as_time_major(values, "values")
    nv = as_time_major(next_values, "next_values")
    same_shape(v, r, "values", "rewards")
    same_shape(nv, r, "next_values", "rewards")
    term = as_mask(terminated, "terminated", r)
    return r + gamma * (1.0 - term) * nv - v


def n_step_advantages(
    rewards: ArrayLike,
    values: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike | None,
    truncated: ArrayLike | None,
    gamma: float,
    n: int,
) -> torch.Tensor:
    r"""The :math:`n`-step advantage: :math:`n` sampled rewards, then the critic.

    .. math:: \hat A^{(n)}_t = \sum_{k=0}^{n-1} \gamma^k r_{t+k} + \gamma^n V(s_{t+n}) - V(s_t)
              = \sum_{k=0}^{n-1} \gamma^k \delta_{t+k},

    the sum stopping at the end of the episode (terminated: no bootstrap; truncated or the
    end of the input: bootstrap from ``next_values``), as in :func:`gae`. ``n = 1`` is the
    TD error, ``n`` at least the episode's remaining length is :math:`G_t - V(s_t)`.
    """
    n = count(n, "n")
    deltas = td_errors(rewards, values, next_values, terminated, gamma)
    carry = gamma * (1.0 - as_mask(terminated, "terminated", deltas)) * (1.0 - as_mask(truncated, "truncated", deltas))
    T = deltas.shape[0]
    out = deltas.clone()
    weight = torch.ones_like(deltas)  # weight[t] = prod_{j<k} carry[t+j]: gamma^k inside the episode, else 0
    for k in range(1, min(n, T)):
        weight = weight[: T - k] * carry[k - 1 : T - 1]
        out[: T - k] += weight * deltas[k:]
    return out


def lambda_weights(lam: float, n_max: int) -> torch.Tensor:
    r"""The weights GAE(λ) gives :math:`\hat A^{(1)}, \dots, \hat A^{(n_{max})}`, shape ``(n_max,)``, summing to 1.

    .. math:: w_n = (1-\lambda)\lambda^{n-1} \;(n < n_{max}), \qquad w_{n_{max}} = \lambda^{n_{max}-1},

    the last weight collecting the tail :math:`\sum_{n \ge n_{max}} (1-\lambda)\lambda^{n-1}`: for an
    input of ``T`` steps :math:`\hat A^{(n)} = \hat A^{(T)}` for every :math:`n \ge T`, so
    :math:`\sum_{n=1}^{T} w_n \hat A^{(n)}_t = \hat A^{\mathrm{GAE}(\gamma,\lambda)}_t` exactly.
    """
    lam = unit_interval(lam, "lam")
    n_max = count(n_max, "n_max")
    n = torch.arange(1, n_max + 1, dtype=torch.float64)
    w = (1.0 - lam) * lam ** (n - 1)
    w[-1] = lam ** (n_max - 1)
    return w.float()


def gae(
    rewards: ArrayLike,
    values: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike | None,
    truncated: ArrayLike | None,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Generalised Advantage Estimation, GAE(γ, λ). Returns ``(advantages, returns)``.

    .. math::
        \delta_t = r_t + \gamma (1 - \mathrm{terminated}_t) V(s_{t+1}) - V(s_t)

        A_t = \delta_t + \gamma \lambda (1 - \mathrm{terminated}_t)(1 - \mathrm{truncated}_t) A_{t+1}

    and ``returns = advantages + values`` (the λ-return, the critic's target).

    * λ = 0 gives the TD error :math:`A_t = \delta_t`;
    * λ = 1 gives the Monte Carlo return minus the value, :math:`A_t = G_t - V(s_t)`
      (bootstrapped from ``next_values`` at truncations and at the end of the input).

    A *terminated* step has no future: its successor value is dropped. A *truncated*
    step still bootstraps from ``next_values[t]`` (the final observation), but no
    advantage flows back across the boundary into the previous episode.
    """
    lam = unit_interval(lam, "lam")
    deltas = td_errors(rewards, values, next_values, terminated, gamma)
    term = as_mask(terminated, "terminated", deltas)
    trunc = as_mask(truncated, "truncated", deltas)
    carry = gamma * lam * (1.0 - term) * (1.0 - trunc)
    adv = torch.empty_like(deltas)
    running = torch.zeros_like(deltas[0])
    for t in range(deltas.shape[0] - 1, -1, -1):
        running = deltas[t] + carry[t] * running
        adv[t] = running
    return adv, adv + as_float_tensor(values, "values")
