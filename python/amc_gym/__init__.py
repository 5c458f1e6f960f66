"""AMC's compression environment for Python, Gymnasium-style.

    from amc_gym import AmcEnv
    env = AmcEnv("experiments/resnet20-macs50.yaml", out="runs/gym", amc="bin/amc")
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        obs, reward, done, truncated, info = env.step(env.action_space.sample())
    env.close()

Each AmcEnv starts its own `amc env serve SPEC --out OUT` (one process per
environment, so vectorised environments work with one --out each) and
speaks its JSON-lines protocol (docs/gym.md). An episode prunes one network:
one step per prunable group, the action is the group's preserve ratio
(clamped to [lower bound, 1] and capped to the budget by amc; info["applied"]
is what was applied), the observation the paper's 11 features (in [0, 1] but
the MACs still to come, which can exceed 1: the space's bounds say so), the
reward 0 until the last group and then amc's episode reward (minus the error
on the reward set, or the accuracy-guaranteed reward), with the pruned
network's accuracy, MACs and params in info. amc logs every episode to
OUT/episodes.parquet, so `amc report` shows these runs beside the built-in
strategies.

Standard library only. With gymnasium importable, AmcEnv subclasses
gymnasium.Env and its spaces are gymnasium.spaces.Box; with numpy importable,
observations are numpy float32 arrays; otherwise array('f') and a minimal Box.
"""
import array
import json
import math
import os
import random
import subprocess

try:
    import numpy as _np
except ImportError:  # standard library only
    _np = None

try:
    import gymnasium as _gym
    from gymnasium import spaces as _spaces
except ImportError:
    _gym, _spaces = None, None

PROTOCOL = "amc-env/1"


class EnvError(RuntimeError):
    """The environment refused a request or stopped."""


def _f32(x):
    """x rounded to float32, as the bounds of a float32 space are."""
    return array.array("f", [x])[0]


class Box:
    """A minimal float32 box space (what gymnasium.spaces.Box offers that
    AmcEnv needs) for when gymnasium is not installed: low and high are
    float32 values, one per element."""

    def __init__(self, low, high, shape, dtype="float32", seed=None):
        n = _size(shape)
        lows = list(low) if isinstance(low, (list, tuple)) else [low] * n
        highs = list(high) if isinstance(high, (list, tuple)) else [high] * n
        self.low, self.high = [_f32(v) for v in lows], [_f32(v) for v in highs]
        self.shape, self.dtype = tuple(shape), dtype
        self._rng = random.Random(seed)

    def seed(self, seed=None):
        self._rng.seed(seed)

    def sample(self):
        return _vector([self._rng.uniform(lo, hi) for lo, hi in zip(self.low, self.high)])

    def contains(self, x):
        vals = list(x) if not hasattr(x, "tolist") else list(_flat(x.tolist()))
        return len(vals) == len(self.low) and all(lo <= float(v) <= hi for v, lo, hi in zip(vals, self.low, self.high))

    def __repr__(self):
        return f"Box({self.low}, {self.high}, {self.shape}, {self.dtype})"


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _flat(v):
    for x in v:
        if isinstance(x, list):
            yield from _flat(x)
        else:
            yield x


def _vector(values):
    if _np is not None:
        return _np.asarray(values, dtype=_np.float32)
    return array.array("f", values)


def _box(low, high, shape):
    if _spaces is not None:
        lo = _np.asarray(low, dtype=_np.float32) if isinstance(low, (list, tuple)) else float(low)
        hi = _np.asarray(high, dtype=_np.float32) if isinstance(high, (list, tuple)) else float(high)
        return _spaces.Box(low=lo, high=hi, shape=shape, dtype=_np.float32)
    return Box(low, high, shape)


_Base = _gym.Env if _gym is not None else object


class AmcEnv(_Base):
    """One served AMC task (a spec, one budget) as an environment."""

    metadata = {"render_modes": []}

    def __init__(self, spec, out, amc="amc", name="gym", episodes=None, seed=1, budget=None, data_dir=None,
                 extra_args=(), env=None):
        cmd = list(amc) if isinstance(amc, (list, tuple)) else [amc]
        cmd += ["env", "serve", spec, "--out", out, "--name", name, "--seed", str(seed)]
        if episodes:
            cmd += ["--episodes", str(episodes)]
        if budget:
            cmd += ["--budget", budget]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        cmd += list(extra_args)
        # A session of its own: a Ctrl-C meant for the Python program does not kill amc between an
        # episode's last reply and its checkpoint; close() (or the end of its input) stops it.
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
                                      encoding="utf-8", bufsize=1, start_new_session=True)
        self._complete = False
        self._closed = False
        hello = self._read()
        if hello.get("type") != "hello":
            self.close()
            raise EnvError(f"amc env serve: {hello.get('error') or hello}")
        self.task = hello["info"]
        if self.task.get("protocol") != PROTOCOL:
            self.close()
            raise EnvError(f"amc speaks {self.task.get('protocol')}, this client {PROTOCOL}")
        self.steps = int(self.task["steps"])
        self.lower_bound = float(self.task["lower_bound"])
        size = int(self.task["state_size"])
        # Every feature is in [0, 1] but the MACs still to come, which can exceed 1 (docs/gym.md).
        self.observation_space = _box([0.0] * size, [float(v) for v in self.task.get("obs_high", [1.0] * size)], (size,))
        self.action_space = _box(self.lower_bound, 1.0, (1,))
        self._t = None

    def _read(self):
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait()
            raise EnvError(f"amc env serve ended (exit code {code}); its standard error says why")
        return json.loads(line)

    def _call(self, req):
        if self._closed:
            raise EnvError("the environment is closed")
        try:
            self._proc.stdin.write(json.dumps(req, allow_nan=False) + "\n")
            self._proc.stdin.flush()
        except OSError:  # the server is gone: say so with its exit code
            raise EnvError(f"amc env serve ended (exit code {self._proc.wait()}); its standard error says why") from None
        r = self._read()
        if r.get("type") == "error":
            raise EnvError(r.get("error"))
        return r

    def reset(self, seed=None, options=None):
        """Starts an episode: (observation, info). amc's environment is
        deterministic given the actions, so seed only seeds np_random (with
        gymnasium) and the fallback action space's sampler."""
        if self._t is not None:
            raise EnvError("reset during an episode: amc logs whole episodes; step until terminated first")
        if _gym is not None:
            super().reset(seed=seed)
        elif seed is not None:
            self.action_space.seed(seed)
        r = self._call({"type": "reset"})
        self._t = r["t"]
        return _vector(r["obs"]), r.get("info") or {}

    def step(self, action):
        """Applies a preserve ratio to the current group: (observation,
        reward, terminated, truncated, info); terminated at the last group."""
        if self._t is None:
            raise EnvError("step before reset")
        a = action
        if hasattr(a, "tolist"):
            a = a.tolist()
        while isinstance(a, (list, tuple, array.array)):
            if len(a) != 1:
                raise EnvError(f"the action is one preserve ratio, got {len(a)} values")
            a = a[0]
        a = float(a)
        if math.isnan(a) or math.isinf(a):
            raise EnvError(f"the action must be a finite preserve ratio, got {a}")
        r = self._call({"type": "step", "action": a})
        terminated = bool(r.get("terminated"))
        self._complete = self._complete or bool((r.get("info") or {}).get("run_complete"))
        self._t = None if terminated else r["t"]
        return _vector(r["obs"]), float(r.get("reward", 0.0)), terminated, False, r.get("info") or {}

    def close(self):
        """Ends the served run (its finished episodes stay in OUT)."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        try:
            self._proc.stdin.write(json.dumps({"type": "close"}) + "\n")
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        # After the last episode amc evaluates the best network and writes summary.json and best/:
        # wait for it, however long; otherwise give it 10 minutes.
        try:
            self._proc.wait(timeout=None if self._complete else 600)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
