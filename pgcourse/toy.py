r"""Small problems whose values and policy gradients are known *exactly*.

A tabular MDP and a multi-armed bandit, each with a softmax policy on a parameter
table :math:`\theta`:

.. math:: \pi_\theta(a|s) = \frac{e^{\theta_{s,a}}}{\sum_b e^{\theta_{s,b}}},
          \qquad \nabla_{\theta_{s,\cdot}} \log \pi_\theta(a|s) = e_a - \pi_\theta(\cdot|s).

Exact quantities come from linear solves, never from sampling:

* :math:`V^\pi = (I - \gamma P_\pi)^{-1} r_\pi`, :math:`Q(s,a) = R(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')`,
  :math:`A = Q - V`;
* the discounted visitation :math:`d(s) = \sum_t \gamma^t \Pr(s_t = s) = [(I - \gamma P_\pi^\top)^{-1} \mu]_s`;
* the policy gradient theorem in its exact, discounted form
  :math:`\nabla_\theta J = \sum_s d(s) \sum_a \pi(a|s) \nabla_\theta \log\pi(a|s) A(s,a)`,
  which for the softmax table is :math:`\partial J / \partial\theta_{s,a} = d(s)\,\pi(a|s)\,A(s,a)`.

The Monte Carlo (score-function) estimator keeps the :math:`\gamma^t` factor so it
matches that gradient for any :math:`\gamma`:

.. math:: \hat g = \sum_t \gamma^t \, \nabla_\theta \log\pi_\theta(a_t|s_t)\, (G_t - b(s_t)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgcourse._checks import unit_interval

__all__ = [
    "softmax_policy",
    "log_softmax",
    "pseudo_inverse",
    "Trajectories",
    "TabularMDP",
    "corridor_mdp",
    "course_mdp",
    "DEFAULT_THETA",
    "Bandit",
    "signal_to_noise",
    "cosine",
    "relative_projection",
]


def softmax_policy(theta: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a parameter table, shape ``(S, A)`` (or ``(A,)`` for a bandit)."""
    z = np.asarray(theta, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(theta: np.ndarray) -> np.ndarray:
    r"""Row-wise :math:`\log\pi`, computed stably (no ``log`` of a rounded-to-zero probability)."""
    z = np.asarray(theta, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def pseudo_inverse(M: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Moore-Penrose pseudo-inverse of a symmetric positive semi-definite matrix, by eigendecomposition.

    Eigenvalues at or below ``rtol`` times the largest are treated as exactly 0 (the null space).
    """
    w, V = np.linalg.eigh(np.asarray(M, dtype=np.float64))
    keep = w > rtol * max(w.max(), 0.0)
    return (V[:, keep] / w[keep]) @ V[:, keep].T


@dataclass(frozen=True)
class Trajectories:
    """A batch of ``n`` episodes padded to ``T`` steps: arrays of shape ``(n, T)``.

    ``valid[i, t]`` is True while episode ``i`` is running; ``next_states`` is
    ``-1`` where the step terminated.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    valid: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return self.valid.sum(axis=1)

    @property
    def n(self) -> int:
        return self.states.shape[0]


class TabularMDP:
    r"""Episodic MDP with ``S`` states, ``A`` actions and an absorbing terminal state.

    ``P[s, a, s']`` is the probability of moving to non-terminal ``s'``; the missing
    mass :math:`1 - \sum_{s'} P[s,a,s']` is the probability of terminating.
    ``mu`` is the start distribution.

    The reward is paid on the **transition**: ``R`` is either a table ``(S, A)`` (the reward
    does not depend on where the step lands) or a table ``(S, A, S + 1)`` with
    ``R[s, a, s']`` the reward of the step :math:`s \xrightarrow{a} s'`, index ``S`` being
    the terminal state. :meth:`sample` pays ``transition_rewards[s, a, s']`` of the successor
    actually drawn; the exact solvers use its expectation

    .. math:: R(s,a) = \sum_{s'} P(s'|s,a)\, r(s,a,s') + \Big(1 - \sum_{s'} P(s'|s,a)\Big)\, r(s,a,\bot),

    stored as ``R`` (shape ``(S, A)``), since :math:`V`, :math:`Q` and :math:`\nabla J` depend on
    the reward only through it.
    """

    def __init__(self, P: np.ndarray, R: np.ndarray, mu: np.ndarray, gamma: float) -> None:
        self.P = np.asarray(P, dtype=np.float64)
        R = np.asarray(R, dtype=np.float64)
        self.mu = np.asarray(mu, dtype=np.float64)
        self.gamma = unit_interval(gamma, "gamma")
        if R.ndim not in (2, 3):
            raise ValueError(f"R must have shape (S, A) or (S, A, S + 1), got {R.shape}")
        S, A = R.shape[:2]
        if self.P.shape != (S, A, S):
            raise ValueError(f"P must have shape (S, A, S) = {(S, A, S)}, got {self.P.shape}")
        if R.ndim == 3 and R.shape != (S, A, S + 1):
            raise ValueError(f"transition reward R must have shape (S, A, S + 1) = {(S, A, S + 1)}, got {R.shape}")
        if not np.all(np.isfinite(R)):
            raise ValueError("R must be finite")
        if np.any(self.P < 0) or np.any(self.P.sum(-1) > 1 + 1e-12):
            raise ValueError("P[s, a, :] must be probabilities summing to at most 1 (the rest terminates)")
        if self.mu.shape != (S,) or not np.isclose(self.mu.sum(), 1.0):
            raise ValueError(f"mu must be a distribution over the {S} states")
        self.n_states, self.n_actions = S, A
        #: ``r(s, a, s')`` per transition, shape ``(S, A, S + 1)``; the last column is termination.
        self.transition_rewards = R if R.ndim == 3 else np.repeat(R[:, :, None], S + 1, axis=2)
        #: the expected reward :math:`R(s, a)`, shape ``(S, A)``: what the exact solvers use.
        self.R = (self.successor_probabilities() * self.transition_rewards).sum(-1)

    def successor_probabilities(self) -> np.ndarray:
        """``P`` with the termination probability appended as successor ``S``: shape ``(S, A, S + 1)``."""
        return np.concatenate([self.P, np.clip(1.0 - self.P.sum(-1, keepdims=True), 0.0, None)], axis=-1)

    # ---------------------------------------------------------------- exact
    def _check_theta(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_states, self.n_actions):
            raise ValueError(f"theta must have shape (S, A) = {(self.n_states, self.n_actions)}, got {theta.shape}")
        return theta

    def policy(self, theta: np.ndarray) -> np.ndarray:
        return softmax_policy(self._check_theta(theta))

    def _solve(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pi = self.policy(theta)
        P_pi = np.einsum("sa,sat->st", pi, self.P)
        r_pi = (pi * self.R).sum(-1)
        M = np.eye(self.n_states) - self.gamma * P_pi
        return pi, M, r_pi

    def values(self, theta: np.ndarray) -> np.ndarray:
        r"""Exact :math:`V^\pi(s)`, shape ``(S,)``."""
        _, M, r_pi = self._solve(theta)
        return np.linalg.solve(M, r_pi)

    def q_values(self, theta: np.ndarray) -> np.ndarray:
        r"""Exact :math:`Q^\pi(s,a) = R(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')`, shape ``(S, A)``."""
        return self.R + self.gamma * self.P @ self.values(theta)

    def advantages(self, theta: np.ndarray) -> np.ndarray:
        r"""Exact :math:`A^\pi(s,a) = Q(s,a) - V(s)`, shape ``(S, A)``."""
        return self.q_values(theta) - self.values(theta)[:, None]

    def objective(self, theta: np.ndarray) -> float:
        r""":math:`J(\theta) = \sum_s \mu(s) V^\pi(s)`."""
        return float(self.mu @ self.values(theta))

    def visitation(self, theta: np.ndarray) -> np.ndarray:
        r"""Discounted visitation :math:`d(s) = \sum_t \gamma^t \Pr(s_t = s)` (not normalised)."""
        _, M, _ = self._solve(theta)
        return np.linalg.solve(M.T, self.mu)

    def exact_gradient(self, theta: np.ndarray) -> np.ndarray:
        r""":math:`\partial J/\partial\theta_{s,a} = d(s)\,\pi(a|s)\,A(s,a)`, shape ``(S, A)``."""
        return self.visitation(theta)[:, None] * self.policy(theta) * self.advantages(theta)

    # ------------------------------------------------------------ trust regions
    def state_weights(self, theta: np.ndarray) -> np.ndarray:
        r"""The normalised visitation :math:`\rho(s) = d(s) / \sum_{s'} d(s')`, a distribution over states."""
        d = self.visitation(theta)
        return d / d.sum()

    def performance_difference(self, theta_old: np.ndarray, theta: np.ndarray) -> float:
        r"""The right-hand side of the performance-difference lemma, equal to :math:`J(\theta) - J(\theta_{old})`.

        .. math:: J(\theta) - J(\theta_{old}) = \sum_s d_\theta(s) \sum_a \pi_\theta(a|s)\, A_{\theta_{old}}(s,a),

        with :math:`d_\theta` the *unnormalised* discounted visitation of the **new** policy
        (:meth:`visitation`) and :math:`A_{\theta_{old}}` the advantage of the **old** one.
        """
        pi = self.policy(theta)
        return float(self.visitation(theta) @ (pi * self.advantages(theta_old)).sum(-1))

    def surrogate(self, theta_old: np.ndarray, theta: np.ndarray) -> float:
        r"""The surrogate objective: the lemma with the **old** visitation in place of the new one.

        .. math:: L_{\theta_{old}}(\theta) = \sum_s d_{\theta_{old}}(s) \sum_a \pi_\theta(a|s)\, A_{\theta_{old}}(s,a).

        It equals :math:`J(\theta) - J(\theta_{old})` to first order around :math:`\theta_{old}`:
        the same value (0) and the same gradient (:meth:`exact_gradient`) there.
        """
        pi = self.policy(theta)
        return float(self.visitation(theta_old) @ (pi * self.advantages(theta_old)).sum(-1))

    def mean_kl(self, theta_old: np.ndarray, theta: np.ndarray) -> float:
        r"""The mean KL divergence under the old policy's state distribution.

        .. math:: \overline{\mathrm{KL}}(\theta_{old}, \theta) = \sum_s \rho_{old}(s)\,
                  \mathrm{KL}\big(\pi_{\theta_{old}}(\cdot|s) \,\|\, \pi_\theta(\cdot|s)\big),
                  \qquad \rho_{old} = d_{\theta_{old}} / \textstyle\sum_s d_{\theta_{old}}(s).
        """
        log_p, log_q = log_softmax(self._check_theta(theta_old)), log_softmax(self._check_theta(theta))
        kl = (np.exp(log_p) * (log_p - log_q)).sum(-1)
        return float(self.state_weights(theta_old) @ kl)

    def fisher(self, theta: np.ndarray) -> np.ndarray:
        r"""The Fisher information matrix over the row-major flattened :math:`\theta`, shape ``(S·A, S·A)``.

        .. math:: F(\theta) = \sum_s \rho(s) \sum_a \pi(a|s)\, \nabla\log\pi(a|s)\, \nabla\log\pi(a|s)^\top,

        the Hessian of ``mean_kl(theta, ·)`` at ``theta``. For the softmax table it is block
        diagonal, block :math:`s` being :math:`\rho(s)\,(\mathrm{diag}\,\pi_s - \pi_s \pi_s^\top)`:
        singular, with the null direction "add a constant to every logit of state s" (one per state).
        """
        pi, rho = self.policy(theta), self.state_weights(theta)
        S, A = pi.shape
        F = np.zeros((S * A, S * A))
        for s in range(S):
            F[s * A : (s + 1) * A, s * A : (s + 1) * A] = rho[s] * (np.diag(pi[s]) - np.outer(pi[s], pi[s]))
        return F

    def natural_gradient(self, theta: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
        r"""The natural gradient :math:`F^{+} \nabla_\theta J`, shaped like ``theta``.

        :math:`F^+` is the pseudo-inverse (eigenvalues below ``rtol`` times the largest count as 0): the
        minimum-norm solution of :math:`F x = \nabla J`. For the softmax table, every solution is
        :math:`x_{s,a} = (\sum_{s'} d(s'))\, A(s,a) + c_s`, and the minimum-norm one has
        :math:`c_s = -\frac{1}{|A|}\sum_b A(s,b)`, i.e. :math:`(\sum_{s'} d(s'))\,(A(s,a) - \mathrm{mean}_b A(s,b))`
        wherever :math:`d(s) > 0`.
        """
        return (pseudo_inverse(self.fisher(theta), rtol) @ self.exact_gradient(theta).ravel()).reshape(
            self.n_states, self.n_actions
        )

    # ------------------------------------------------------------- sampling
    def sample(self, theta: np.ndarray, n: int, seed: int, max_steps: int = 10_000) -> Trajectories:
        """Sample ``n`` episodes in parallel (vectorised over episodes), reproducibly from ``seed``.

        Each step pays the reward of the transition it made, ``transition_rewards[s_t, a_t, s_{t+1}]``.
        """
        if n < 1:
            raise ValueError(f"n={n} is outside the allowed range [1, inf)")
        pi = self.policy(theta)
        rng = np.random.default_rng(seed)
        S = self.n_states
        cum_pi = np.cumsum(pi, axis=-1)
        # successor table with the terminal state as the last column (index S)
        cum_P = np.cumsum(self.successor_probabilities(), axis=-1)
        s = rng.choice(S, size=n, p=self.mu)
        alive = np.ones(n, dtype=bool)
        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("s", "a", "r", "s2", "v")}
        for _ in range(max_steps):
            a = (rng.random(n)[:, None] > cum_pi[s]).sum(-1).clip(max=self.n_actions - 1)
            s2 = (rng.random(n)[:, None] > cum_P[s, a]).sum(-1).clip(max=S)
            r = np.where(alive, self.transition_rewards[s, a, s2], 0.0)  # the reward of the step drawn
            for k, v in zip(cols, (s, a, r, np.where(s2 == S, -1, s2), alive.copy())):
                cols[k].append(v)
            alive &= s2 != S
            if not alive.any():
                break
            s = np.where(alive, np.minimum(s2, S - 1), 0)
        else:
            raise RuntimeError(f"some episodes did not terminate within max_steps={max_steps}")
        st = {k: np.stack(v, axis=1) for k, v in cols.items()}
        valid = st["v"]
        return Trajectories(
            states=np.where(valid, st["s"], 0),
            actions=np.where(valid, st["a"], 0),
            rewards=st["r"],
            next_states=np.where(valid, st["s2"], -1),
            valid=valid,
        )

    def returns_to_go(self, traj: Trajectories) -> np.ndarray:
        r""":math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k` per step, shape ``(n, T)`` (0 on padding)."""
        G = np.zeros_like(traj.rewards)
        running = np.zeros(traj.n)
        for t in range(traj.rewards.shape[1] - 1, -1, -1):
            running = traj.rewards[:, t] + self.gamma * running
            G[:, t] = running
        return G * traj.valid

    def mc_gradients(
        self, theta: np.ndarray, traj: Trajectories, baseline: np.ndarray | None = None, discount_steps: bool = True
    ) -> np.ndarray:
        r"""Per-episode score-function estimates, shape ``(n, S, A)``.

        :math:`\hat g_i = \sum_t \gamma^t (e_{a_t} - \pi(\cdot|s_t)) (G_t - b(s_t))` placed in row
        :math:`s_t`; ``baseline`` is an array ``b`` over states (default 0). Average
        over episodes for the estimate of :math:`\nabla_\theta J`. ``discount_steps=False`` drops
        the :math:`\gamma^t` (practical REINFORCE), whose mean is :meth:`practical_gradient`.
        """
        pi = self.policy(theta)
        b = np.zeros(self.n_states) if baseline is None else np.asarray(baseline, dtype=np.float64)
        if b.shape != (self.n_states,):
            raise ValueError(f"baseline must have shape (S,) = ({self.n_states},), got {b.shape}")
        T = traj.states.shape[1]
        step_weight = self.gamma ** np.arange(T) if discount_steps else np.ones(T)
        weight = step_weight[None, :] * (self.returns_to_go(traj) - b[traj.states]) * traj.valid
        score = np.eye(self.n_actions)[traj.actions] - pi[traj.states]  # (n, T, A)
        out = np.zeros((traj.n, self.n_states, self.n_actions))
        rows = np.broadcast_to(np.arange(traj.n)[:, None], traj.states.shape)
        np.add.at(out, (rows, traj.states), weight[..., None] * score)
        return out


    def practical_gradient(self, theta: np.ndarray) -> np.ndarray:
        r"""Expectation of practical REINFORCE (no :math:`\gamma^t`), shape ``(S, A)``.

        .. math:: E\Big[\sum_t \nabla_\theta \log\pi(a_t|s_t)\, G_t\Big]_{s,a} = d_1(s)\,\pi(a|s)\,A_\gamma(s,a),

        with the *undiscounted* visitation :math:`d_1(s) = \sum_t \Pr(s_t = s)` (expected visits, finite
        because episodes terminate) and the discounted advantage :math:`A_\gamma`. At γ = 1 it is
        :meth:`exact_gradient`; for γ < 1 it is the gradient of neither objective.
        """
        pi = self.policy(theta)
        P_pi = np.einsum("sa,sat->st", pi, self.P)
        try:
            d1 = np.linalg.solve(np.eye(self.n_states) - P_pi.T, self.mu)
        except np.linalg.LinAlgError as err:
            raise ValueError("the undiscounted visitation is infinite: some episodes never terminate") from err
        return d1[:, None] * pi * self.advantages(theta)

    def batch_baseline_gradients(
        self, theta: np.ndarray, traj: Trajectories, batch_size: int, baseline: str = "mean", scale: bool = False
    ) -> np.ndarray:
        r"""Gradient estimates of batches of ``batch_size`` = N episodes with a *scalar*, data-dependent baseline.

        .. math:: \hat g_B = \frac1N \sum_{i \in B} \sum_t \gamma^t\, \nabla_\theta\log\pi(a_t|s_t)\,
                  \frac{G_t - b_i}{\sigma_B},

        ``baseline``: ``"none"`` (:math:`b_i = 0`), ``"mean"`` (:math:`b_i` the mean of :math:`G_t` over every step
        of the batch, episode :math:`i` included: what return normalisation subtracts) or ``"leave_one_out"``
        (the mean over the steps of the *other* episodes, independent of episode :math:`i`, so unbiased).
        ``scale=True`` divides by :math:`\sigma_B`, the std of :math:`G_t` over the batch (as
        ``pgcourse.normalize``), else :math:`\sigma_B = 1`. The ``n`` episodes of ``traj`` make
        ``n // N`` batches; returns shape ``(n // N, S, A)``.
        """
        if baseline not in ("none", "mean", "leave_one_out"):
            raise ValueError(f"baseline={baseline!r} is not allowed; use 'none', 'mean' or 'leave_one_out'")
        low = 2 if baseline == "leave_one_out" else 1
        if not low <= batch_size <= traj.n:
            raise ValueError(f"batch_size={batch_size} is outside the allowed range [{low}, {traj.n}]")
        n_batches = traj.n // batch_size
        keep = n_batches * batch_size
        g0 = self.mc_gradients(theta, traj)[:keep]
        score_sum = g0 - self.mc_gradients(theta, traj, baseline=np.ones(self.n_states))[:keep]  # sum_t γ^t ∇log π
        G, valid = self.returns_to_go(traj)[:keep], traj.valid[:keep]
        shape = (n_batches, batch_size)
        g_sum, g_sq, count = G.sum(1).reshape(shape), (G**2).sum(1).reshape(shape), valid.sum(1).reshape(shape)
        tot, tot_sq, tot_n = g_sum.sum(1, keepdims=True), g_sq.sum(1, keepdims=True), count.sum(1, keepdims=True)
        if baseline == "none":
            b = np.zeros(shape)
        elif baseline == "mean":
            b = np.broadcast_to(tot / tot_n, shape)
        else:
            b = (tot - g_sum) / np.maximum(tot_n - count, 1)
        per_episode = g0.reshape(*shape, *g0.shape[1:]) - b[..., None, None] * score_sum.reshape(*shape, *g0.shape[1:])
        estimate = per_episode.mean(1)
        if scale:
            var = (tot_sq - tot**2 / tot_n) / np.maximum(tot_n - 1, 1)
            estimate = estimate / (np.sqrt(var) + 1e-8)[..., None]
        return estimate


def signal_to_noise(per_sample: np.ndarray) -> float:
    r"""Signal-to-noise ratio of one sample of an estimator, :math:`\lVert \bar g \rVert / \sqrt{\mathrm{tr\,Cov}(g)}`.

    ``per_sample`` has shape ``(n, ...)``: ``n`` independent estimates. Scale-free: multiplying every
    estimate by a constant does not change it. The SNR of a mean of N samples is :math:`\sqrt N` times this.
    """
    g = np.asarray(per_sample, dtype=np.float64).reshape(len(per_sample), -1)
    if g.shape[0] < 2:
        raise ValueError(f"need at least 2 samples, got {g.shape[0]}")
    return float(np.linalg.norm(g.mean(0)) / np.sqrt(g.var(0, ddof=1).sum()))


def relative_projection(estimates: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    r"""``(mean, std error)`` of :math:`\hat g \cdot g / \lVert g \rVert^2` over ``estimates``, shape ``(n, ...)``.

    The estimator's mean along the exact gradient ``target``, in units of it: 1 = unbiased along ``g``.
    """
    g = np.ravel(target)
    p = np.asarray(estimates, dtype=np.float64).reshape(len(estimates), -1) @ g / (g @ g)
    return float(p.mean()), float(p.std(ddof=1) / np.sqrt(len(p)))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two arrays (flattened): 1 = same direction."""
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

def corridor_mdp(gamma: float = 0.95, slip: float = 0.1, step_reward: float = -0.05) -> TabularMDP:
    """A 4-cell corridor: start in cell 0, the exit (+1, terminal) is right of cell 3.

    Actions: 0 = left, 1 = right; a move goes the wrong way with probability ``slip``
    (walls keep you in place). Every step pays ``step_reward`` (a cost when negative), and the
    step that actually leaves on the right pays +1 more: the reward is a transition reward
    ``r(s, a, s')``, so "right" in cell 3 pays 0 (plus the step reward) when it slips back.
    """
    S, A = 4, 2
    P = np.zeros((S, A, S))
    R = np.full((S, A, S + 1), step_reward)  # R[s, a, s']; s' = S is leaving on the right
    R[:, :, S] += 1.0
    for s in range(S):
        for a, move in ((0, -1), (1, +1)):
            for direction, p in ((move, 1 - slip), (-move, slip)):
                s2 = s + direction
                if s2 < S:
                    P[s, a, max(s2, 0)] += p
    mu = np.zeros(S)
    mu[0] = 1.0
    return TabularMDP(P, R, mu, gamma)


#: The policy of the course's toy demos and exercises: every cell prefers "right" a little, π(right|s) ≈ 0.62.
DEFAULT_THETA = np.tile([0.0, 0.5], (4, 1))

#: The course's corridor: +1 for leaving on the right, no step cost, γ = 0.9.
COURSE_MDP_KWARGS = {"gamma": 0.9, "slip": 0.1, "step_reward": 0.0}


def course_mdp(gamma: float = COURSE_MDP_KWARGS["gamma"]) -> TabularMDP:
    """The 4-cell corridor every toy demo of the course uses (see :func:`corridor_mdp`)."""
    return corridor_mdp(gamma=gamma, slip=COURSE_MDP_KWARGS["slip"], step_reward=COURSE_MDP_KWARGS["step_reward"])


class Bandit:
    r"""A K-armed Gaussian bandit with softmax policy :math:`\pi = \mathrm{softmax}(\theta)`.

    Exact gradient: :math:`\partial J/\partial\theta_a = \pi_a (\mu_a - \sum_b \pi_b \mu_b)`.
    """

    def __init__(self, means: np.ndarray, stds: np.ndarray | float = 1.0) -> None:
        self.means = np.asarray(means, dtype=np.float64)
        self.stds = np.broadcast_to(np.asarray(stds, dtype=np.float64), self.means.shape).copy()
        if self.means.ndim != 1 or self.means.size < 2:
            raise ValueError(f"means must be a 1-D array of at least 2 arms, got shape {self.means.shape}")
        if np.any(self.stds < 0):
            raise ValueError("stds must be >= 0")
        self.n_actions = self.means.size

    def _pi(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n_actions,):
            raise ValueError(f"theta must have shape ({self.n_actions},), got {theta.shape}")
        return softmax_policy(theta)

    def objective(self, theta: np.ndarray) -> float:
        return float(self._pi(theta) @ self.means)

    def exact_gradient(self, theta: np.ndarray) -> np.ndarray:
        pi = self._pi(theta)
        return pi * (self.means - pi @ self.means)

    def sample(self, theta: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` pulls: (actions, rewards)."""
        rng = np.random.default_rng(seed)
        a = rng.choice(self.n_actions, size=n, p=self._pi(theta))
        return a, rng.normal(self.means[a], self.stds[a])

    def mc_gradients(
        self, theta: np.ndarray, actions: np.ndarray, rewards: np.ndarray, baseline: float = 0.0
    ) -> np.ndarray:
        r"""Per-pull estimates :math:`(e_a - \pi)(r - b)`, shape ``(n, K)``."""
        pi = self._pi(theta)
        return (np.eye(self.n_actions)[actions] - pi) * (np.asarray(rewards)[:, None] - baseline)
