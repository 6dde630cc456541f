# Runs torch.optim.Adagrad on cases given as JSON on stdin and prints the
# resulting parameters and state as JSON. Works unchanged under PyTorch 1.13
# (Debian bookworm) and 2.6 (Debian trixie). Run as `python3 -c "<this file>"`
# so that nothing needs copying into the trixie chroot.
#
# Request: {"cases": [{"name", "dtype": "float32"|"float64",
#            "params": [base64 of little-endian values, ...],
#            "groups": [{"params": [indices], <Adagrad kwargs>}, ...],
#            "steps": [[base64 grad | null per param], ...]}]}
# Response: {"torch": version, "cases": [{"name", "params": [base64],
#            "state": {index: {"step": float, "sum": base64}}}]}
import base64
import json
import sys

import numpy as np
import torch


def decode(text, dtype):
    return torch.from_numpy(np.frombuffer(base64.b64decode(text), dtype=dtype).copy())


def encode(tensor):
    return base64.b64encode(tensor.detach().contiguous().numpy().tobytes()).decode()


def run(case):
    dtype = {"float32": np.float32, "float64": np.float64}[case["dtype"]]
    params = [torch.nn.Parameter(decode(p, dtype)) for p in case["params"]]
    groups = [dict(g, params=[params[i] for i in g["params"]]) for g in case["groups"]]
    opt = torch.optim.Adagrad(groups)
    for grads in case["steps"]:
        for p, g in zip(params, grads):
            p.grad = None if g is None else decode(g, dtype)
        opt.step()
    sd = opt.state_dict()
    return {
        "name": case["name"],
        "params": [encode(p) for p in params],
        "state": {str(i): {"step": float(s["step"]), "sum": encode(s["sum"])} for i, s in sd["state"].items()},
        "param_groups": [list(g.keys()) for g in sd["param_groups"]],
    }


request = json.load(sys.stdin)
json.dump({"torch": torch.__version__, "cases": [run(c) for c in request["cases"]]}, sys.stdout)
