# The PyTorch side of test/porting.test.ts: training loops as PyTorch users
# write them, saved midway for Node to go on from. Runs unchanged under
# PyTorch 1.13 (bookworm) and 2.6 (trixie chroot), as `python3 -c "<this
# file>"` with a JSON request on stdin.
#
# {"dir", "scenarios": [scenario]}: per scenario, build the optimizer, run
#   steps 0 .. k-1, optionally set every state's step to `set_step` (through
#   the state dict), save <dir>/<name>-opt.pt and <dir>/<name>-model.pt (an
#   OrderedDict name -> tensor), run the remaining steps, and answer with the
#   final params (hex of their bytes) and each state's step (SGD's keep none).
# scenario: {"name", "optimizer", "defaults": {...}, "lr_tensor": bool (lr as
#   a 0-dim tensor), "params": [{"name", "shape", "data": b64 float32}],
#   "grads": [[b64 float32 or null per param] per step], "k",
#   "set_step": int or null, "zero_grad": bool (each step starts with
#   opt.zero_grad(), PyTorch's default form, and a present grad is added to
#   p.grad the way backward() accumulates; an absent one is left alone)}
import base64
import collections
import json
import os
import sys

import numpy as np
import torch


def decode(text, shape):
    return torch.from_numpy(np.frombuffer(base64.b64decode(text), dtype=np.float32).copy()).reshape(shape)


def step(scenario, params, opt, t):
    if scenario["zero_grad"]:
        opt.zero_grad()
    for p, spec, g in zip(params, scenario["params"], scenario["grads"][t]):
        if g is None:
            if not scenario["zero_grad"]:
                p.grad = None
            continue
        grad = decode(g, spec["shape"])
        if scenario["zero_grad"] and p.grad is not None:
            p.grad.add_(grad)
        else:
            p.grad = grad
    opt.step()


def run(scenario, folder):
    params = [torch.nn.Parameter(decode(p["data"], p["shape"])) for p in scenario["params"]]
    defaults = dict(scenario["defaults"])
    if scenario["lr_tensor"]:
        defaults["lr"] = torch.tensor(defaults["lr"])
    opt = getattr(torch.optim, scenario["optimizer"])(params, **defaults)
    for t in range(scenario["k"]):
        step(scenario, params, opt, t)
    if scenario["set_step"] is not None:
        sd = opt.state_dict()
        for entry in sd["state"].values():
            entry["step"] = torch.tensor(float(scenario["set_step"])) if torch.is_tensor(entry["step"]) else scenario["set_step"]
        opt.load_state_dict(sd)
    name = scenario["name"]
    torch.save(opt.state_dict(), os.path.join(folder, f"{name}-opt.pt"))
    model = collections.OrderedDict((spec["name"], p.detach().clone()) for spec, p in zip(scenario["params"], params))
    torch.save(model, os.path.join(folder, f"{name}-model.pt"))
    for t in range(scenario["k"], len(scenario["grads"])):
        step(scenario, params, opt, t)
    state = opt.state_dict()["state"]
    return {
        "params": [p.detach().numpy().tobytes().hex() for p in params],
        "steps": {str(i): float(entry["step"]) for i, entry in state.items() if "step" in entry},
    }


request = json.load(sys.stdin)
answer = {s["name"]: run(s, request["dir"]) for s in request["scenarios"]}
json.dump({"torch": torch.__version__, "scenarios": answer}, sys.stdout)
