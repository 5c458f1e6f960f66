"""Random search as an external agent: a uniform random preserve ratio per
group in [action_low, 1], from its own seeded generator. It learns nothing,
and saves its generator's state so that a resumed run is exact.

Spec entry:  - {name: py-random, command: [python3, ../python/agents/random_search.py]}
(the command runs in the spec's folder).
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from amc_agent import Agent, serve  # noqa: E402


class RandomSearch(Agent):
    def hello(self, info):
        self.low = info["action_low"]
        self.rng = random.Random(info["seed"])

    def act(self, state, t, explore):
        return self.low + (1 - self.low) * self.rng.random()

    def save(self, path):
        with open(path, "w") as f:
            json.dump(self.rng.getstate(), f)
        return True

    def load(self, path):
        with open(path) as f:
            s = json.load(f)
        self.rng.setstate((s[0], tuple(s[1]), s[2]))


if __name__ == "__main__":
    serve(RandomSearch())
