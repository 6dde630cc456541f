# The PyTorch side of the interchange round trips (test/io-torch.test.ts).
# Runs unchanged under PyTorch 1.13 (bookworm) and 2.6 (trixie chroot), as
# `python3 -c "<this file>"` with a JSON request on stdin.
#
# {"mode": "train", "dir", "cases": [case]}: per case, train `k` steps, save
#   <dir>/<name>/opt-torch.pt and model-torch.pt (an OrderedDict of name ->
#   tensor, like model.state_dict()); also run all k+m+n steps uninterrupted
#   and answer with that run's final tensors, and the form of its state_dict
#   after k+m steps (param_groups keys with value types, step types).
# {"mode": "resume", "dir", "cases": [case]}: per case, torch.load the files
#   Node wrote (<dir>/<name>/opt-node.pt, model-node.pt) with torch.load's
#   default arguments (weights_only=True in 2.6), report their form, load them
#   into a fresh model and optimizer, run steps k+m .. k+m+n-1 and answer with
#   the final tensors.
# case: {"name", "optimizer", "dtype", "params": [{"name", "shape", "data": b64}],
#        "defaults": {...}, "groups": [{"params": [i], ...}], "grads": [[b64] per param] per step,
#        "k", "m", "n"}
import base64
import collections
import json
import os
import sys

import numpy as np
import torch

DTYPES = {"float32": np.float32, "float64": np.float64}


def decode(text, dtype, shape):
    return torch.from_numpy(np.frombuffer(base64.b64decode(text), dtype=dtype).copy()).reshape(shape)


def encode(tensor):
    return base64.b64encode(tensor.detach().contiguous().numpy().tobytes()).decode()


def build(case):
    dtype = DTYPES[case["dtype"]]
    params = [torch.nn.Parameter(decode(p["data"], dtype, p["shape"])) for p in case["params"]]
    groups = [dict(g, params=[params[i] for i in g["params"]]) for g in case["groups"]]
    return params, getattr(torch.optim, case["optimizer"])(groups, **case["defaults"])


def run(case, params, opt, start, stop):
    dtype = DTYPES[case["dtype"]]
    for t in range(start, stop):
        for p, spec, g in zip(params, case["params"], case["grads"][t]):
            p.grad = decode(g, dtype, spec["shape"])
        opt.step()


def form(sd):
    """What a version's state_dict looks like, to compare with Node's files."""
    return {
        "param_groups": [[[k, type(v).__name__, v if isinstance(v, (bool, int, float, str, list)) or v is None else repr(v)]
                          for k, v in g.items()] for g in sd["param_groups"]],
        "state": {str(i): [[k, "tensor" if torch.is_tensor(v) else type(v).__name__,
                            list(v.shape) if torch.is_tensor(v) else None,
                            str(v.dtype) if torch.is_tensor(v) else None] for k, v in entry.items()]
                  for i, entry in sd["state"].items()},
        "state_keys": [type(i).__name__ for i in sd["state"]],
    }


def final(params, opt):
    sd = opt.state_dict()
    return {
        "params": [encode(p) for p in params],
        "state": {str(i): {k: (float(v) if k == "step" else encode(v)) for k, v in entry.items()}
                  for i, entry in sd["state"].items()},
    }


def train(case, folder):
    params, opt = build(case)
    run(case, params, opt, 0, case["k"])
    os.makedirs(folder, exist_ok=True)
    torch.save(opt.state_dict(), os.path.join(folder, "opt-torch.pt"))
    model = collections.OrderedDict((spec["name"], p.detach()) for spec, p in zip(case["params"], params))
    torch.save(model, os.path.join(folder, "model-torch.pt"))
    ref_params, ref_opt = build(case)
    run(case, ref_params, ref_opt, 0, case["k"] + case["m"])
    reference_form = form(ref_opt.state_dict())
    run(case, ref_params, ref_opt, case["k"] + case["m"], case["k"] + case["m"] + case["n"])
    return {"name": case["name"], "form": reference_form, "final": final(ref_params, ref_opt)}


def resume(case, folder):
    model = torch.load(os.path.join(folder, "model-node.pt"))
    saved = torch.load(os.path.join(folder, "opt-node.pt"))
    saved_form = form(saved)
    params, opt = build(case)
    with torch.no_grad():
        for spec, p in zip(case["params"], params):
            p.copy_(model[spec["name"]])
    opt.load_state_dict(saved)
    start = case["k"] + case["m"]
    run(case, params, opt, start, start + case["n"])
    return {"name": case["name"], "form": saved_form, "model_type": type(model).__name__, "final": final(params, opt)}


request = json.load(sys.stdin)
mode = {"train": train, "resume": resume}[request["mode"]]
answers = [mode(c, os.path.join(request["dir"], c["name"])) for c in request["cases"]]
json.dump({"torch": torch.__version__, "cases": answers}, sys.stdout)
