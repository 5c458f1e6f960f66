"""A TD3-style actor-critic for AMC in one readable file (PyTorch), run by amc
through the external-agent protocol (docs/external-agents.md).

AMC gives one reward per episode, after the last group, and the official
agent (and amc's Go DDPG) regress the critic on that reward minus a moving
average, for every transition of the episode, without bootstrapping. This
agent keeps that target and adds TD3's two remedies for an over-optimistic
critic: twin critics whose minimum drives the actor, and delayed actor
updates (one per `policy_delay` critic updates). Exploration: the first
`warmup` episodes are uniformly random; then a normal around the actor's
ratio, clipped to [low, high] (high is 1), with a standard deviation that decays per
episode to a floor.

Spec entry (the command runs in the spec's folder; params all optional):

    - {name: py-td3, command: [python3, ../python/agents/td3.py], params: {warmup: 100}}

Params: warmup (default min(100, episodes/3)), hidden 300, actor_lr 1e-4,
critic_lr 1e-3, batch 64, updates (per episode; default: the steps of an
episode), policy_delay 2, sigma 0.5, sigma_decay 0.95, sigma_min 0.05,
baseline_alpha 0.95, capacity 100000. save/load keep everything (networks,
optimisers, buffer, random states), so a resumed run gives the same rows.
"""
import os
import random
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from amc_agent import Agent, serve  # noqa: E402

DEFAULTS = {"hidden": 300, "actor_lr": 1e-4, "critic_lr": 1e-3, "batch": 64, "updates": 0, "policy_delay": 2,
            "sigma": 0.5, "sigma_decay": 0.95, "sigma_min": 0.05, "baseline_alpha": 0.95, "capacity": 100000}


def mlp(inputs, hidden, out_act):
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 1), out_act)


class TD3(Agent):
    def hello(self, info):
        p = dict(DEFAULTS)
        given = info.get("params") or {}
        unknown = set(given) - set(DEFAULTS) - {"warmup"}
        if unknown:
            raise ValueError(f"unknown params {sorted(unknown)}; valid: warmup, {', '.join(sorted(DEFAULTS))}")
        p.update(given)
        episodes = int((info.get("task") or {}).get("episodes", 300))
        p["warmup"] = given.get("warmup", min(100, episodes // 3))
        for k, least in (("warmup", 0), ("hidden", 1), ("batch", 1), ("updates", 0), ("policy_delay", 1), ("capacity", 1)):
            if not isinstance(p[k], int) or isinstance(p[k], bool) or p[k] < least:
                raise ValueError(f"param {k}: {p[k]!r}: want an integer >= {least}")
        for k in ("actor_lr", "critic_lr", "sigma", "sigma_decay", "sigma_min", "baseline_alpha"):
            if not isinstance(p[k], (int, float)) or not 0 <= p[k] < float("inf") or (k.endswith("_lr") and p[k] == 0):
                raise ValueError(f"param {k}: {p[k]!r}: want a finite number >= 0 (learning rates > 0)")
        self.p = p
        self.low, self.high = float(info["action_low"]), float(info["action_high"])
        self.steps = int(info["steps"])
        torch.set_num_threads(1)  # the agent's compute is small; leave the cores to amc's engine
        torch.manual_seed(int(info["seed"]))
        self.rng = random.Random(int(info["seed"]))
        s, h = int(info["state_size"]), int(p["hidden"])
        self.actor = mlp(s, h, nn.Sigmoid())
        self.critics = nn.ModuleList([mlp(s + 1, h, nn.Identity()) for _ in range(2)])
        self.opt_actor = torch.optim.Adam(self.actor.parameters(), lr=float(p["actor_lr"]))
        self.opt_critic = torch.optim.Adam(self.critics.parameters(), lr=float(p["critic_lr"]))
        self.buffer = []  # (state, action, episode index): the target is the episode's reward
        self.rewards = {}  # episode -> reward minus the baseline at its time
        self.baseline = None
        self.sigma = float(p["sigma"])
        self.episodes = 0
        self.updates = 0

    def ratio(self, state):
        with torch.no_grad():
            u = self.actor(torch.tensor([state], dtype=torch.float32)).item()
        return self.low + (self.high - self.low) * u

    def act(self, state, t, explore):
        if not explore:
            return self.ratio(state)
        if self.episodes < self.p["warmup"]:
            return self.rng.uniform(self.low, self.high)
        return min(self.high, max(self.low, self.rng.gauss(self.ratio(state), self.sigma)))

    def observe(self, episode, reward, transitions):
        if self.baseline is None:
            self.baseline = reward
        advantage = reward - self.baseline
        a = float(self.p["baseline_alpha"])
        self.baseline = a * self.baseline + (1 - a) * reward
        self.rewards[episode] = advantage
        for tr in transitions:
            self.buffer.append((tr["state"], (tr["action"] - self.low) / (self.high - self.low), episode))
        while len(self.buffer) > int(self.p["capacity"]):
            self.buffer.pop(0)
        live = {e for _, _, e in self.buffer}
        self.rewards = {e: r for e, r in self.rewards.items() if e in live}
        self.episodes += 1
        if self.episodes <= self.p["warmup"]:
            return
        self.sigma = max(float(self.p["sigma_min"]), self.sigma * float(self.p["sigma_decay"]))
        for _ in range(int(self.p["updates"]) or len(transitions)):
            self.update()

    def update(self):
        batch = [self.buffer[self.rng.randrange(len(self.buffer))] for _ in range(int(self.p["batch"]))]
        s = torch.tensor([b[0] for b in batch], dtype=torch.float32)
        a = torch.tensor([[b[1]] for b in batch], dtype=torch.float32)
        y = torch.tensor([[self.rewards[b[2]]] for b in batch], dtype=torch.float32)
        sa = torch.cat([s, a], 1)
        loss = sum(((q(sa) - y) ** 2).mean() for q in self.critics)
        self.opt_critic.zero_grad()
        loss.backward()
        self.opt_critic.step()
        self.updates += 1
        if self.updates % int(self.p["policy_delay"]) == 0:
            pa = torch.cat([s, self.actor(s)], 1)
            actor_loss = -torch.min(self.critics[0](pa), self.critics[1](pa)).mean()
            self.opt_actor.zero_grad()
            actor_loss.backward()
            self.opt_actor.step()

    def save(self, path):
        torch.save({"actor": self.actor.state_dict(), "critics": self.critics.state_dict(),
                    "opt_actor": self.opt_actor.state_dict(), "opt_critic": self.opt_critic.state_dict(),
                    "buffer": self.buffer, "rewards": self.rewards, "baseline": self.baseline, "sigma": self.sigma,
                    "episodes": self.episodes, "updates": self.updates, "rng": self.rng.getstate(),
                    "torch_rng": torch.get_rng_state()}, path)
        return True

    def load(self, path):
        # A pickle (torch.save): PyTorch 1.13's weights_only loader refuses plain floats, so this loads
        # only what this agent wrote into the run's own checkpoint; do not resume runs from strangers.
        st = torch.load(path)
        self.actor.load_state_dict(st["actor"])
        self.critics.load_state_dict(st["critics"])
        self.opt_actor.load_state_dict(st["opt_actor"])
        self.opt_critic.load_state_dict(st["opt_critic"])
        self.buffer, self.rewards, self.baseline, self.sigma = st["buffer"], st["rewards"], st["baseline"], st["sigma"]
        self.episodes, self.updates = st["episodes"], st["updates"]
        self.rng.setstate(st["rng"])
        torch.set_rng_state(st["torch_rng"])


if __name__ == "__main__":
    serve(TD3())
