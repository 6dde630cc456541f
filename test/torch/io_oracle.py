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
# {"mode": "fixtures", "dir"}: writes the committed fixture files of
#   test/fixtures/torch-files/<version>/ and their expected.json (made by
#   test/torch/make-io-fixtures.ts).
# {"mode": "describe", "dir"}: torch.load of every .pt file in dir, described
#   the way expected.json describes values.
# {"mode": "safetensors", "dir"} (2.6 only): Hugging Face's safetensors reads
#   every .safetensors file in dir, and writes python.safetensors there.
# case: {"name", "optimizer", "dtype", "params": [{"name", "shape", "data": b64}],
#        "defaults": {...}, "groups": [{"params": [i], ...}], "grads": [[b64] per param] per step,
#        "k", "m", "n", "extras": bool (groups with a "name" key, param_names
#        on 2.x, and an LR scheduler's initial_lr)}
import base64
import collections
import json
import os
import sys

import numpy as np
import torch

DTYPES = {"float32": np.float32, "float64": np.float64}


def describe(v):
    if torch.is_tensor(v):
        t = v.detach().contiguous()
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.view(torch.int16)
        return {"tensor": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "hex": t.numpy().tobytes().hex()}
    if isinstance(v, dict):
        return {"dict": [[k if isinstance(k, str) else f"int:{k}", describe(x)] for k, x in v.items()]}
    if isinstance(v, tuple):
        return {"tuple": [describe(x) for x in v]}
    if isinstance(v, list):
        return {"list": [describe(x) for x in v]}
    if isinstance(v, bool):
        return {"bool": v}
    if isinstance(v, int):
        return {"bigint": str(v)} if abs(v) > 2**53 - 1 else {"num": v}
    if isinstance(v, float):
        return {"num": v}
    if isinstance(v, str):
        return {"str": v}
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if v is None:
        return None
    raise TypeError(type(v))


def fixtures(out):
    """Real files for test/fixtures/torch-files/<version>/, with expected.json describing each."""
    torch.manual_seed(1234)

    def save(name, value, **kwargs):
        torch.save(value, os.path.join(out, name), **kwargs)
        return describe(value)

    def optimizer(cls, groups, steps, **defaults):
        params = [p for g in groups for p in g["params"]]
        opt = cls(groups, **defaults)
        for _ in range(steps):
            for p in params:
                p.grad = torch.randn_like(p)
            opt.step()
        return opt.state_dict()

    expected = {}
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    expected["model.pt"] = save("model.pt", model.state_dict())
    w = [torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(4)), torch.nn.Parameter(torch.randn(2, 4))]
    expected["rmsprop.pt"] = save("rmsprop.pt", optimizer(
        torch.optim.RMSprop, [{"params": w[:2], "lr": 0.05}, {"params": w[2:], "momentum": 0.9, "centered": True}], 3, lr=0.01))
    expected["adagrad.pt"] = save("adagrad.pt", optimizer(
        torch.optim.Adagrad, [{"params": [torch.nn.Parameter(torch.randn(5, dtype=torch.float64))]}], 2, lr_decay=0.1))

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    shared = torch.arange(6, dtype=torch.float64)
    expected["dtypes-and-views.pt"] = save("dtypes-and-views.pt", {
        "float32": torch.randn(2, 3),
        "float64": torch.randn(3, dtype=torch.float64),
        "float16": torch.randn(2, 2).half(),
        "bfloat16": torch.randn(2, 2).bfloat16(),
        "int64": torch.tensor([-(2**40), 0, 2**62], dtype=torch.int64),
        "int32": torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32),
        "uint8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "transposed": base.t(),
        "sliced": base[1:3, 2:5],
        "strided": base[::2, ::3],
        "expanded": torch.tensor([1.5, 2.5]).expand(3, 2),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
        "shared_whole": shared,
        "shared_tail": shared[2:],
        "python": [1, -5, 2**70, -(2**70), 0.1, 1e-8, None, True, False, "ünïcode", b"\x00\xffbytes", (1, (2.5, "x")), {"nested": [1, 2]}],
        "int_keys": {0: "a", 7: "b", 300: "c"},
    })
    # SGD with and without momentum (1.13 keeps momentum_buffer: None for the latter), Adam with amsgrad in one group, AdamW.
    v = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(2))]
    expected["sgd.pt"] = save("sgd.pt", optimizer(
        torch.optim.SGD, [{"params": v[:1], "momentum": 0.9, "nesterov": True}, {"params": v[1:]}], 2, lr=0.1))
    expected["adam.pt"] = save("adam.pt", optimizer(
        torch.optim.Adam, [{"params": v[:1], "amsgrad": True}, {"params": v[1:], "betas": (0.8, 0.99)}], 3, lr=0.01))
    expected["adamw.pt"] = save("adamw.pt", optimizer(
        torch.optim.AdamW, [{"params": [torch.nn.Parameter(torch.randn(4, dtype=torch.float64))]}], 2, weight_decay=0.1))

    # The legacy (pre-1.6) format: loadTorch must refuse it with advice.
    torch.save({"x": torch.ones(2)}, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"torch": torch.__version__, "files": expected}, f, indent=1, sort_keys=True)
    return {}


def describe_files(folder):
    """torch.load (default arguments) of every .pt file Node wrote into `folder`, described."""
    return {name: describe(torch.load(os.path.join(folder, name))) for name in sorted(os.listdir(folder)) if name.endswith(".pt")}


def safetensors_check(folder):
    """Hugging Face's safetensors (2.6 chroot only) reads Node's files, and writes one for Node."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    read = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            with safe_open(os.path.join(folder, name), framework="pt") as f:
                metadata = f.metadata()
            read[name] = {"tensors": describe(load_file(os.path.join(folder, name))), "metadata": metadata}
    torch.manual_seed(7)
    theirs = collections.OrderedDict([
        ("w.float32", torch.randn(3, 2)), ("w.float64", torch.randn(4, dtype=torch.float64)),
        ("w.float16", torch.randn(2).half()), ("w.bfloat16", torch.randn(2).bfloat16()),
        ("w.int64", torch.tensor([-(2**40), 2**62])), ("w.int32", torch.tensor([-3, 4], dtype=torch.int32)),
        ("w.uint8", torch.tensor([0, 255], dtype=torch.uint8)), ("w.bool", torch.tensor([True, False])),
        ("w.scalar", torch.tensor(2.5)), ("w.empty", torch.zeros(0, 2)),
    ])
    save_file(theirs, os.path.join(folder, "python.safetensors"), metadata={"source": "python"})
    return {"read": read, "written": describe(dict(theirs))}


def decode(text, dtype, shape):
    return torch.from_numpy(np.frombuffer(base64.b64decode(text), dtype=dtype).copy()).reshape(shape)


def encode(tensor):
    return base64.b64encode(tensor.detach().contiguous().numpy().tobytes()).decode()


def build(case):
    dtype = DTYPES[case["dtype"]]
    params = [torch.nn.Parameter(decode(p["data"], dtype, p["shape"])) for p in case["params"]]
    groups = [tupled(dict(g, params=[params[i] for i in g["params"]])) for g in case["groups"]]
    if case.get("extras"):
        # What real runs put in groups besides hyperparameters: a key of the
        # user's own, and (2.x) the names of params given as (name, param).
        for gi, (g, spec) in enumerate(zip(groups, case["groups"])):
            g["name"] = f"group {gi}"
            if not torch.__version__.startswith("1."):
                g["params"] = [(case["params"][i]["name"], params[i]) for i in spec["params"]]
    return params, getattr(torch.optim, case["optimizer"])(groups, **tupled(case["defaults"]))


def tupled(options):
    """Adam's betas as Python code passes them: a tuple (JSON has only lists), which the state dict keeps."""
    return dict(options, betas=tuple(options["betas"])) if "betas" in options else options


def schedule(case, opt, last_epoch):
    """An LR scheduler, which adds initial_lr to every group; resuming one (last_epoch >= 0) needs it back."""
    if case.get("extras"):
        # A step size beyond the run: lr stays put, so Node (which has no scheduler) steps the same.
        torch.optim.lr_scheduler.StepLR(opt, step_size=10**6, last_epoch=last_epoch)


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
        "state": {str(i): {k: (float(v) if k == "step" else None if v is None else encode(v)) for k, v in entry.items()}
                  for i, entry in sd["state"].items()},
    }


def train(case, folder):
    params, opt = build(case)
    schedule(case, opt, -1)
    run(case, params, opt, 0, case["k"])
    os.makedirs(folder, exist_ok=True)
    torch.save(opt.state_dict(), os.path.join(folder, "opt-torch.pt"))
    model = collections.OrderedDict((spec["name"], p.detach()) for spec, p in zip(case["params"], params))
    torch.save(model, os.path.join(folder, "model-torch.pt"))
    ref_params, ref_opt = build(case)
    schedule(case, ref_opt, -1)
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
    schedule(case, opt, start - 1)
    run(case, params, opt, start, start + case["n"])
    return {"name": case["name"], "form": saved_form, "model_type": type(model).__name__, "final": final(params, opt)}


request = json.load(sys.stdin)
if request["mode"] == "fixtures":
    answer = fixtures(request["dir"])
elif request["mode"] == "safetensors":
    answer = safetensors_check(request["dir"])
elif request["mode"] == "describe":
    answer = {"files": describe_files(request["dir"])}
else:
    mode = {"train": train, "resume": resume}[request["mode"]]
    answer = {"cases": [mode(c, os.path.join(request["dir"], c["name"])) for c in request["cases"]]}
json.dump(dict(answer, torch=torch.__version__), sys.stdout)
