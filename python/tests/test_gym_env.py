"""The Gymnasium environment's contract (python/amc_gym), each check
explicit. Needs an amc command, a spec and the data: the Go test
internal/cli.TestGymEnvContract runs this file with AMC_GYM_AMC (a JSON list:
the amc command), AMC_GYM_SPEC, AMC_GYM_DATA and AMC_GYM_OUT set; without
them it is skipped.
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

NEEDED = ("AMC_GYM_AMC", "AMC_GYM_SPEC", "AMC_GYM_DATA", "AMC_GYM_OUT")


@unittest.skipUnless(all(os.environ.get(k) for k in NEEDED), "needs an amc command and data (run by internal/cli.TestGymEnvContract)")
class ContractTest(unittest.TestCase):
    def make(self, out, **kw):
        import amc_gym
        return amc_gym.AmcEnv(os.environ["AMC_GYM_SPEC"], out=os.path.join(os.environ["AMC_GYM_OUT"], out),
                              amc=json.loads(os.environ["AMC_GYM_AMC"]), data_dir=os.environ["AMC_GYM_DATA"], **kw)

    def test_contract(self):
        import amc_gym
        env = self.make("contract", episodes=3)
        try:
            lo, hi = env.observation_space.low, env.observation_space.high
            for b in (lo, hi, env.action_space.low, env.action_space.high):
                vals = b.tolist() if hasattr(b, "tolist") else b
                vals = vals if isinstance(vals, list) else [vals]
                self.assertTrue(all(math.isfinite(v) for v in vals), "bounds are finite")
            self.assertGreater(max(hi.tolist() if hasattr(hi, "tolist") else hi), 1.0,
                               "this task's MACs still to come start above 1 (residual groups): the bound says so")
            self.assertEqual(tuple(env.action_space.shape), (1,))
            low = env.action_space.low
            low = low.tolist() if hasattr(low, "tolist") else low
            self.assertAlmostEqual(float(low[0] if isinstance(low, list) else low), env.lower_bound, places=6)

            trajectories = []
            for episode in range(2):
                res = env.reset(seed=123)
                self.assertIsInstance(res, tuple, "reset returns (obs, info)")
                self.assertEqual(len(res), 2)
                obs, info = res
                self.assertIsInstance(info, dict)
                self.check_obs(env, obs)
                traj = [list(obs)]
                for t in range(env.steps):
                    out = env.step([0.3 + 0.05 * t])
                    self.assertIsInstance(out, tuple)
                    self.assertEqual(len(out), 5, "step returns (obs, reward, terminated, truncated, info)")
                    obs, reward, terminated, truncated, info = out
                    self.check_obs(env, obs)
                    self.assertIsInstance(reward, float)
                    self.assertIsInstance(terminated, bool)
                    self.assertIsInstance(truncated, bool)
                    self.assertFalse(truncated)
                    self.assertEqual(terminated, t == env.steps - 1, "terminated exactly at the last group")
                    self.assertIn("applied", info)
                    self.assertTrue(env.lower_bound - 1e-9 <= info["applied"] <= 1 + 1e-9)
                    traj.append((list(obs), reward))
                for k in ("top1", "macs", "params", "macs_ratio"):
                    self.assertIn(k, info)
                trajectories.append(traj)
            self.assertEqual(trajectories[0], trajectories[1], "the same seed and actions give the same trajectory")
            with self.assertRaises(amc_gym.EnvError):
                env.step([0.5])  # after the end, before reset
            env.reset()
            with self.assertRaises(amc_gym.EnvError) as cm:
                env.reset()  # during an episode
            self.assertIn("step until terminated", str(cm.exception))
            with self.assertRaises(amc_gym.EnvError) as cm:
                env.step(float("nan"))
            self.assertIn("finite", str(cm.exception))
        finally:
            env.close()
        with open(os.path.join(os.environ["AMC_GYM_OUT"], "contract", "checkpoint.gob"), "rb"):
            pass  # two of three episodes kept for a later resume

    def check_obs(self, env, obs):
        if hasattr(obs, "dtype"):
            self.assertEqual(str(obs.dtype), "float32")
        else:
            self.assertEqual(obs.typecode, "f")
        self.assertTrue(all(math.isfinite(v) for v in list(obs)), "observation is finite")
        self.assertTrue(env.observation_space.contains(obs), f"observation inside the space: {list(obs)}")

    def test_gymnasium_branch_with_a_stand_in_module(self):
        """With gymnasium importable, AmcEnv is a gymnasium.Env and its spaces
        are gymnasium.spaces.Box (a minimal stand-in module here: gymnasium
        is not installable on this machine)."""
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "gymnasium"))
            with open(os.path.join(d, "gymnasium", "__init__.py"), "w") as f:
                f.write(textwrap.dedent("""
                    from . import spaces
                    class Env:
                        seeds = []
                        def reset(self, seed=None, options=None):
                            Env.seeds.append(seed)
                """))
            with open(os.path.join(d, "gymnasium", "spaces.py"), "w") as f:
                f.write(textwrap.dedent("""
                    class Box:
                        def __init__(self, low, high, shape, dtype):
                            self.low, self.high, self.shape, self.dtype = low, high, shape, dtype
                        def contains(self, x):
                            return len(x) == self.shape[0] and all(self.low <= v <= self.high for v in x)
                """))
            code = textwrap.dedent(f"""
                import json, os, sys
                sys.path.insert(0, {d!r}); sys.path.insert(1, {os.path.dirname(HERE)!r})
                import gymnasium, amc_gym
                env = amc_gym.AmcEnv(os.environ["AMC_GYM_SPEC"], out=os.path.join(os.environ["AMC_GYM_OUT"], "standin"),
                                     amc=json.loads(os.environ["AMC_GYM_AMC"]), data_dir=os.environ["AMC_GYM_DATA"], episodes=1)
                assert isinstance(env, gymnasium.Env), type(env).__mro__
                assert isinstance(env.action_space, gymnasium.spaces.Box)
                assert isinstance(env.observation_space, gymnasium.spaces.Box)
                obs, info = env.reset(seed=7)
                assert gymnasium.Env.seeds == [7], gymnasium.Env.seeds
                env.close()
                print("stand-in ok")
            """)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
            self.assertEqual(out.returncode, 0, out.stderr[-3000:])
            self.assertIn("stand-in ok", out.stdout)

    def test_without_gymnasium_the_fallback_box(self):
        import amc_gym
        if amc_gym._gym is not None:
            self.skipTest("gymnasium is installed: the fallback is not used")
        env = self.make("fallback", episodes=1)
        try:
            self.assertIsInstance(env.action_space, amc_gym.Box)
            a = env.action_space.sample()
            self.assertTrue(env.action_space.contains(a))
        finally:
            env.close()

    def test_a_failing_server_is_named(self):
        import amc_gym
        with self.assertRaises(amc_gym.EnvError) as cm:
            amc_gym.AmcEnv("/nonexistent/spec.yaml", out=os.path.join(os.environ["AMC_GYM_OUT"], "bad"),
                           amc=json.loads(os.environ["AMC_GYM_AMC"]))
        self.assertIn("/nonexistent/spec.yaml", str(cm.exception))  # the reason, read from amc's standard output


if __name__ == "__main__":
    unittest.main()
