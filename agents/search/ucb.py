"""A discounted UCB1 bandit: which arm (island) to pull next, from the rewards seen so far.

Pulls are counted when an arm is chosen, not when its reward arrives, so the candidates planned
while others are still in flight spread over the arms instead of all taking the current leader
(the "virtual loss" of parallel tree search).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Bandit:
    arms: int
    exploration: float = 1.0  # weight of the confidence bonus
    discount: float = 0.95  # older rewards count less: the landscape moves as islands improve
    pulls: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.arms < 1:
            raise ValueError(f"a bandit needs at least one arm, got {self.arms}")
        self.pulls = [0.0] * self.arms
        self.rewards = [0.0] * self.arms

    def choose(self) -> int:
        """The arm with the highest upper confidence bound; untried arms first, ties by index."""
        for arm, pulls in enumerate(self.pulls):
            if pulls == 0:
                self.pulls[arm] += 1.0
                return arm
        total = 1.0 + sum(self.pulls)
        scores = [self.mean(arm) + self.exploration * math.sqrt(2 * math.log(total) / pulls)
                  for arm, pulls in enumerate(self.pulls)]
        best = max(range(self.arms), key=lambda arm: (scores[arm], -arm))
        self.pulls[best] += 1.0
        return best

    def reward(self, arm: int, value: float) -> None:
        """Credit an earlier pull of `arm` with `value` in [0, 1]; every arm's memory decays."""
        for other in range(self.arms):
            self.pulls[other] *= self.discount
            self.rewards[other] *= self.discount
        self.rewards[arm] += min(1.0, max(0.0, value))

    def mean(self, arm: int) -> float:
        return self.rewards[arm] / self.pulls[arm] if self.pulls[arm] else 0.0
