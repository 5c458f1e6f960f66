"""Write an amc compression agent in Python: the external-agent protocol.

amc runs the agent as a child process and talks JSON lines over its stdin
and stdout (docs/external-agents.md). Subclass Agent, override act (and
observe, save, load if the agent learns), and call serve(MyAgent()):

    from amc_agent import Agent, serve

    class Half(Agent):
        def act(self, state, t, explore):
            return 0.5

    serve(Half())

Standard library only. Print diagnostics to stderr: stdout is the protocol.
"""
import json
import math
import sys

PROTOCOL = 1


class Agent:
    """One compression strategy. amc calls hello once, then per episode act
    once per prunable group and observe once, and save/load around
    checkpoints."""

    def hello(self, info):
        """info: protocol, name, state_size, steps, action_low, action_high,
        seed, params (the spec's params: mapping), task (a summary)."""
        self.info = info

    def act(self, state, t, explore):
        """Return the preserve ratio for group t (a float; amc clamps it to
        [action_low, action_high] and keeps the budget reachable)."""
        raise NotImplementedError

    def observe(self, episode, reward, transitions):
        """Learn from a finished episode: transitions are dicts with state,
        requested, action (what amc applied) and next (None at the end)."""

    def save(self, path):
        """Write everything needed to continue to path and return True, or
        return False if the agent cannot (then a run cannot resume)."""
        return False

    def load(self, path):
        """Read what save wrote."""
        raise NotImplementedError("load without save")


def serve(agent, stdin=None, stdout=None):
    """Answer amc's requests until it closes the connection."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout

    def reply(obj):
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()

    for line in stdin:
        req = json.loads(line)
        kind = req.get("type")
        try:
            if kind == "hello":
                if req.get("protocol") != PROTOCOL:
                    reply({"error": "this client speaks protocol %d, amc sent %r" % (PROTOCOL, req.get("protocol"))})
                    return
                agent.hello(req)
                reply({"type": "hello", "protocol": PROTOCOL})
            elif kind == "act":
                a = float(agent.act(req["state"], req["t"], req["explore"]))
                if math.isnan(a) or math.isinf(a):
                    reply({"error": "act returned %r" % a})
                    return
                reply({"action": a})
            elif kind == "observe":
                agent.observe(req["episode"], req["reward"], req["transitions"])
                reply({"ok": True})
            elif kind == "save":
                reply({"saved": bool(agent.save(req["path"]))})
            elif kind == "load":
                agent.load(req["path"])
                reply({"ok": True})
            elif kind == "close":
                return
            else:
                reply({"error": "unknown request %r" % kind})
                return
        except Exception as e:  # the harness stops the run with this text
            reply({"error": "%s: %s" % (type(e).__name__, e)})
            return
