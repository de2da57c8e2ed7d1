"""The offline brain's numeric search: an Optuna study over the constants of the evolvable region.

Each numeric literal is one parameter. Positive numbers range over [v/span, v*span] on a log
scale (a constant's order of magnitude is what a baseline gets wrong), zero and negative numbers
over a linear range around them; integers stay integers. The sampler is Optuna's seeded CMA-ES
(TPE when there is one constant only), started at the centre of the ranges, which is the
baseline's values. A study is deterministic
for a seed and a sequence of ask/tell calls, which the pipeline makes in key order.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from adrs.agents.evolve_block import Literal as NumericLiteral

Sampler = Literal["cmaes", "tpe"]


@dataclass(frozen=True)
class NumericConfig:
    sampler: Sampler = "cmaes"
    span: float = 5.0  # positive constants move within [v / span, v * span]
    step: float = 0.05  # CMA-ES's first step, as a share of each range (Optuna scales to [0, 1])
    linear_span: float = 4.0  # zero and negative ones within v ± linear_span * max(1, |v|)


@dataclass(frozen=True)
class Proposal:
    trial: int  # the study's trial number
    texts: dict[int, str]  # literal index -> new text


def distribution(literal: NumericLiteral, config: NumericConfig) -> Any:
    from optuna.distributions import FloatDistribution, IntDistribution

    value = literal.value
    if value > 0:
        low, high = value / config.span, value * config.span
        if literal.is_int:
            return IntDistribution(max(1, math.floor(low)), max(2, math.ceil(high)), log=True)
        return FloatDistribution(low, high, log=True)
    reach = config.linear_span * max(1.0, abs(value))
    if literal.is_int:
        return IntDistribution(math.floor(value - reach), math.ceil(value + reach))
    return FloatDistribution(value - reach, value + reach)


def literal_text(literal: NumericLiteral, value: float) -> str:
    """A proposal written like the literal it replaces: an int stays an int, a float a float."""
    if literal.is_int:
        return str(int(round(value)))
    text = f"{value:.6g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


class NumericSearch:
    """One study over one layout of constants; trials are named by candidate key."""

    def __init__(self, literals: list[NumericLiteral], seed: int, config: NumericConfig,
                 start_score: float | None = None) -> None:
        import optuna

        optuna.logging.set_verbosity(logging.WARNING)
        self.literals = literals
        self.space = {self._name(lit): distribution(lit, config) for lit in literals}
        if config.sampler == "cmaes" and len(literals) >= 2:
            with warnings.catch_warnings():  # sigma0 is deprecated from Optuna 4.9, kept until 6
                warnings.simplefilter("ignore", FutureWarning)
                sampler = optuna.samplers.CmaEsSampler(  # starts at the centre: the current values
                    seed=seed, sigma0=config.step, n_startup_trials=0,
                    warn_independent_sampling=False,
                    independent_sampler=optuna.samplers.RandomSampler(seed=seed))
            self.sampler_name = "CMA-ES"
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)
            self.sampler_name = "TPE"
        self._study = optuna.create_study(direction="maximize", sampler=sampler)
        if start_score is not None:  # the starting point, scored already: no random start-up
            self._study.add_trial(optuna.trial.create_trial(
                params={self._name(lit): int(lit.value) if lit.is_int else float(lit.value)
                        for lit in literals},
                distributions=self.space, value=start_score))
        self._trials: dict[str, Any] = {}  # candidate key -> optuna trial

    @staticmethod
    def _name(literal: NumericLiteral) -> str:
        return f"{literal.index}:{literal.label}"

    def ask(self, key: str) -> Proposal:
        trial = self._study.ask(self.space)
        self._trials[key] = trial
        texts = {lit.index: literal_text(lit, trial.params[self._name(lit)]) for lit in self.literals}
        return Proposal(trial=trial.number, texts=texts)

    def tell(self, key: str, score: float | None) -> None:
        """The outcome of the candidate `key` (None: it earned no score)."""
        import optuna

        trial = self._trials.pop(key, None)
        if trial is None:
            return
        if score is None:
            self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(trial, score)

    def told(self) -> int:
        return sum(1 for t in self._study.get_trials(deepcopy=False) if t.state.is_finished())
