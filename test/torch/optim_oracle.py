# Runs a torch.optim optimizer (RMSprop, Adagrad, SGD, Adam, AdamW) on cases given as JSON on
# stdin and prints the resulting parameters and state as JSON. Works
# unchanged under PyTorch 1.13 (Debian bookworm) and 2.6 (Debian trixie). Run
# as `python3 -c "<this file>"`, so nothing needs copying into the chroot.
#
# Request: {"cases": [{"name", "optimizer": "RMSprop"|"Adagrad",
#            "dtype": "float32"|"float64",
#            "params": [base64 of little-endian values, ...],
#            "defaults": {<constructor kwargs>},
#            "groups": [{"params": [indices], <group kwargs>}, ...],
#            "steps": [{"grads": [base64 | null per param],
#                       "lr": [per-group lr to set first] | absent,
#                       "set": [per-group {key: value} to set first] | absent}, ...]}]}
# Response: {"torch": version, "cases": [{"name", "params": [base64],
#            "state": {index: {"step": number, "step_type": "int"|"tensor",
#                              <buffer name>: base64 | null, ...}},
#            "param_groups": [[[key, value], ...] per group, in order]}]}
import base64
import json
import sys

import numpy as np
import torch


def decode(text, dtype):
    return torch.from_numpy(np.frombuffer(base64.b64decode(text), dtype=dtype).copy())


def encode(tensor):
    return base64.b64encode(tensor.detach().contiguous().numpy().tobytes()).decode()


def plain(value):
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)


def tuples(kwargs):
    # betas is a tuple in PyTorch's groups (JSON can only say list).
    return {k: tuple(v) if k == "betas" else v for k, v in kwargs.items()}


def run(case):
    dtype = {"float32": np.float32, "float64": np.float64}[case["dtype"]]
    params = [torch.nn.Parameter(decode(p, dtype)) for p in case["params"]]
    groups = [dict(tuples(g), params=[params[i] for i in g["params"]]) for g in case["groups"]]
    opt = getattr(torch.optim, case["optimizer"])(groups, **tuples(case.get("defaults", {})))
    for step in case["steps"]:
        for group, lr in zip(opt.param_groups, step.get("lr") or []):
            group["lr"] = lr
        for group, values in zip(opt.param_groups, step.get("set") or []):
            group.update(tuples(values))
        for p, g in zip(params, step["grads"]):
            p.grad = None if g is None else decode(g, dtype)
        opt.step()
    sd = opt.state_dict()
    state = {}
    for index, entry in sd["state"].items():
        out = {}
        for key, value in entry.items():
            if key == "step":
                tensor = isinstance(value, torch.Tensor)
                out["step"] = float(value) if tensor else value
                out["step_type"] = "tensor" if tensor else "int"
            else:
                out[key] = None if value is None else encode(value)
        state[str(index)] = out
    return {
        "name": case["name"],
        "params": [encode(p) for p in params],
        "state": state,
        "param_groups": [[[k, plain(v)] for k, v in g.items()] for g in sd["param_groups"]],
    }


request = json.load(sys.stdin)
json.dump({"torch": torch.__version__, "cases": [run(c) for c in request["cases"]]}, sys.stdout)
