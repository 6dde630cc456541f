# torch.optim's optimizers timed inside Python, for bench/peers-torch.ts.
#
# A worker: one JSON request per stdin line, one response per stdout line,
# prefixed "@@bench ". The driver runs it under each PyTorch it finds
# (1.13 as /usr/bin/python3, 2.6 in the trixie chroot; the script goes in with
# `python3 -c`) and interleaves it round by round with the other peers.
#
#   {"cmd": "info"}
#   {"cmd": "setup", "tensors": T, "size": N, "dtype": "float32",
#    "optimizer": "Adam", "kwargs": {...}, "variants": ["single", "foreach", "fused"]}
#       params and fixed grads, and one torch.optim.<optimizer>(**kwargs) over
#       them per variant: foreach=False (the single-tensor loop, PyTorch's
#       default on CPU), foreach=True, fused=True. After the first one's
#       first step the others take its state (the same tensors: exp_avg,
#       step, ...), then step once each: a cell's memory is one set of arrays,
#       not one per variant.
#   {"cmd": "run", "variant": "single"|"foreach"|"fused", "threads": k, "steps": s}
#       -> {"seconds": ...} for s steps back to back (time.perf_counter), after
#       torch.set_num_threads(k).
#   {"cmd": "free"}
import gc
import json
import sys
import time

import torch

# Grads never change and no autograd graph is built: step() is the whole cost.
torch.set_grad_enabled(False)
cells = {}


def reply(obj):
    sys.stdout.write("@@bench " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def capability():
    for get in (
        lambda: torch.backends.cpu.get_cpu_capability(),
        lambda: torch._C._get_cpu_capability(),
    ):
        try:
            return str(get())
        except Exception:
            pass
    # torch 1.13 has neither call; its build summary names the capability in use.
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def values(n, dtype, seed, lo, hi, signed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=gen, dtype=dtype) * (hi - lo) + lo
    if signed:
        x = torch.where(torch.rand(n, generator=gen) < 0.5, -x, x)
    return x


def setup(req):
    free()
    dtype = getattr(torch, req["dtype"])
    params = []
    for t in range(req["tensors"]):
        p = values(req["size"], dtype, 2 * t, -1.0, 1.0, False)
        # |g| in [1e-3, 1e-2]: no denormals in g*g, as in the other peers.
        p.grad = values(req["size"], dtype, 2 * t + 1, 1e-3, 1e-2, True)
        params.append(p)
    cls = getattr(torch.optim, req["optimizer"])
    kw = dict(req["kwargs"])
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    switches = {"single": dict(foreach=False), "foreach": dict(foreach=True), "fused": dict(fused=True)}
    opts = {v: cls(params, **switches[v], **kw) for v in req["variants"]}
    torch.set_num_threads(1)
    first = opts[req["variants"][0]]
    first.step()
    for v, opt in opts.items():
        if opt is not first:
            for p in params:
                opt.state[p] = first.state[p]
            opt.step()
    cells["params"] = params
    cells["opts"] = opts
    return {}


def free():
    cells.clear()
    gc.collect()


def run(req):
    opt = cells["opts"][req["variant"]]
    torch.set_num_threads(req["threads"])
    steps = req["steps"]
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return {"seconds": time.perf_counter() - t0}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            cmd = req["cmd"]
            if cmd == "info":
                out = {
                    "torch": torch.__version__,
                    "python": sys.version.split()[0],
                    "threads": torch.get_num_threads(),
                    "capability": capability(),
                }
            elif cmd == "setup":
                out = setup(req)
            elif cmd == "run":
                out = run(req)
            elif cmd == "free":
                free()
                out = {}
            else:
                out = {"error": "unknown command " + cmd}
        except MemoryError:
            free()
            out = {"error": "out of memory"}
        except Exception as e:  # reported in the table
            out = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")}
        reply(out)


main()
