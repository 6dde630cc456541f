# The forms a torch.save file takes, as written by the running PyTorch (1.13
# or 2.6), for test/io-forms.test.ts. Runs unchanged under both versions.
#
#   make_forms.py OUT    writes one file per form into OUT, and OUT/forms.json:
#     {"torch", "forms": {file: {"what", and either "expect": value
#      or "error": [substrings loadTorch's message must contain];
#      optionally "shared": [{"keys", "offsets"}], "copied": [{"key", "of"}]}}}
#   make_forms.py --load DIR   torch.load of every .pt file in DIR (Node's
#     files; weights_only=True on 2.x), answered on stdout as
#     {"torch", "files": {file: {"value", "storages"} or {"error"}}}
#
# A value: {"tensor": dtype, "shape", "values"} (floats as numbers, non-finite
# ones as "NaN"/"Infinity"/"-Infinity"; float16, bfloat16 and float8 as their
# bit patterns; complex as re, im interleaved; int64 and uint64 as decimal
# strings), {"dict": [[key, value]]}, {"bytes": hex}, {"num": n}.
# "shared": top-level tensors that are contiguous views of one storage, with
# their byte offsets into it; loadTorch must hand them back over one buffer.
# "copied": non-contiguous views ("key") of a storage that "of" shares, which
# come back as copies.
import io
import json
import math
import os
import sys

import torch

NEW_TORCH = not torch.__version__.startswith("1.")
BITS = {"float16": torch.int16, "bfloat16": torch.int16}
WIDE_INTS = ("int64", "uint64")


def dtype_name(dtype):
    return str(dtype).replace("torch.", "")


def number(x):
    if math.isnan(x):
        return "NaN"
    return x if math.isfinite(x) else ("Infinity" if x > 0 else "-Infinity")


def tensor_values(t):
    t = t.detach().contiguous().reshape(-1)
    name = dtype_name(t.dtype)
    if name in BITS:
        return [v & 0xFFFF for v in t.view(torch.int16).tolist()]
    if name.startswith("float8"):
        return t.view(torch.uint8).tolist()
    if t.is_complex():
        return [number(v) for v in torch.view_as_real(t).reshape(-1).tolist()]
    if t.is_floating_point():
        return [number(v) for v in t.tolist()]
    if name in WIDE_INTS:
        return [str(v) for v in t.tolist()]
    return [int(v) for v in t.tolist()]


def describe(v):
    if torch.is_tensor(v):
        return {"tensor": dtype_name(v.dtype), "shape": list(v.shape), "values": tensor_values(v)}
    if isinstance(v, dict):
        return {"dict": [[k, describe(x)] for k, x in v.items()]}
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": bytes(v).hex()}
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"num": v}
    raise TypeError(type(v))


def storage_of(t):
    # 1.13 has no untyped_storage(); its storage() is the same memory.
    return (t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()).data_ptr()


def sharing(obj):
    """The "shared" and "copied" lists of a flat dict of tensors."""
    groups = {}
    for key, t in obj.items():
        groups.setdefault(storage_of(t), []).append(key)
    shared, copied = [], []
    for keys in groups.values():
        contiguous = [k for k in keys if obj[k].is_contiguous()]
        if len(contiguous) > 1:
            shared.append({"keys": contiguous, "offsets": [obj[k].storage_offset() * obj[k].element_size() for k in contiguous]})
        copied += [{"key": k, "of": contiguous[0]} for k in keys if k not in contiguous and contiguous]
    return {"shared": shared, "copied": copied}


def dtype_forms():
    """Every dtype this version can make: the ones loadTorch reads, and the ones it refuses."""
    forms = []

    def add(name, make):
        dtype = getattr(torch, name, None)
        if dtype is not None:
            forms.append((name, dtype, make))

    # A 2-D tensor and its transpose (a strided view, copied on load): each element size, both ways.
    add("int8", lambda d: torch.tensor([-128, -1, 0, 1, 2, 127], dtype=d))
    add("int16", lambda d: torch.tensor([-32768, -1, 0, 1, 256, 32767], dtype=d))
    add("uint16", lambda d: torch.tensor([0, 1, 255, 256, 32768, 65535], dtype=d))
    add("uint32", lambda d: torch.tensor([0, 1, 65536, 2**31, 2**32 - 2, 2**32 - 1], dtype=d))
    add("uint64", lambda d: torch.tensor([0, 1, 2**53 + 1, 2**63, 2**64 - 2, 2**64 - 1], dtype=d))
    for f8 in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"):
        # Every bit pattern (NaNs included), which only a raw-bits reader keeps.
        add(f8, lambda d: torch.arange(256, dtype=torch.int16).to(torch.uint8).view(d))
    inf, nan = math.inf, math.nan
    complex_values = [complex(1, 2), complex(-0.0, 0.5), complex(inf, -1), complex(nan, 0), complex(1e-40, -3e38), complex(0.1, -0.0)]
    add("complex64", lambda d: torch.tensor(complex_values, dtype=d))
    # Values a complex64 cannot hold: thirds, the smallest subnormal, 1e308, 1 + 2**-52.
    wide = [complex(1 / 3, -2 / 3), complex(5e-324, -0.0), complex(-inf, 1e308), complex(0.0, nan), complex(1 + 2**-52, -1), complex(0.1, 0.2)]
    add("complex128", lambda d: torch.tensor(wide, dtype=d))

    # Refused: no typed array holds them the way PyTorch computes with them.
    add("complex32", lambda d: torch.tensor(complex_values[:2], dtype=torch.complex64).to(d))
    add("bits8", lambda d: torch.tensor([1, 2], dtype=torch.uint8).view(d))
    add("bits16", lambda d: torch.tensor([1, 2], dtype=torch.int16).view(d))
    for q in ("qint8", "quint8", "qint32", "quint4x2"):
        add(q, lambda d: torch.quantize_per_tensor(torch.tensor([0.5, 1.0, -1.0, 2.0]), 0.5, 1 if d != torch.qint32 else 0, d))
    return forms


REFUSED = ("complex32", "bits8", "bits16")
QUANTIZED = ("qint8", "quint8", "qint32", "quint4x2")


class Tied(torch.nn.Module):
    """A language model's tied input and output embedding."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(5, 3)
        self.head = torch.nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight


def make(out):
    torch.manual_seed(2024)
    forms = {}

    def save(name, what, obj, expect=True, **kwargs):
        try:
            torch.save(obj, os.path.join(out, name), **kwargs)
        except Exception as e:  # a dtype this version makes but cannot save (1.13's complex32)
            print(f"skipped {name}: {e}", file=sys.stderr)
            if os.path.exists(os.path.join(out, name)):
                os.remove(os.path.join(out, name))
            return None
        forms[name] = {"what": what}
        if expect:
            forms[name]["expect"] = describe(obj)
        return forms[name]

    for name, dtype, make_tensor in dtype_forms():
        try:
            x = make_tensor(dtype)
        except Exception as e:
            print(f"skipped {name}: {e}", file=sys.stderr)
            continue
        file = f"dtype-{name}.pt"
        if name in REFUSED or name in QUANTIZED:
            form = save(file, f"a {name} tensor, which loadTorch refuses", {"x": x}, expect=False)
            if form is not None:
                # A quantized tensor comes through _rebuild_qtensor, not a storage of its dtype.
                form["error"] = ["not supported"] if name in QUANTIZED else [f"dtype {name} is not supported"]
        elif name.startswith("float8"):
            save(file, f"{name}: every bit pattern", {"x": x.reshape(16, 16)})
        else:
            x = x.reshape(2, -1)
            save(file, f"{name}: a 2-D tensor and its transpose", {"x": x, "t": x.t()})

    # Python bytes and bytearray (pickled differently by each protocol) come back as Uint8Array.
    for protocol in (2, 4, 5):
        save(f"bytes-protocol-{protocol}.pt", f"bytes and bytearray values, pickle protocol {protocol}",
             {"empty": b"", "two": b"\x00\xff", "array": bytearray(b"ab"), "empty_array": bytearray()}, pickle_protocol=protocol)

    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    model(torch.randn(4, 3))  # so the running stats and num_batches_tracked are not their initial values
    for protocol in (2, 4, 5):
        save(f"model-protocol-{protocol}.pt", f"model.state_dict() (Linear, BatchNorm1d), pickle protocol {protocol}",
             model.state_dict(), pickle_protocol=protocol)

    for protocol in (2, 4, 5):
        form = save(f"legacy-protocol-{protocol}.pt", f"the legacy (pre-1.6) torch.save format, pickle protocol {protocol}",
                    {"w": torch.ones(2)}, expect=False, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
        form["error"] = ["legacy", "re-save"]

    torch.jit.save(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(2, 2))), os.path.join(out, "torchscript.pt"))
    forms["torchscript.pt"] = {"what": "a TorchScript archive (torch.jit.save)", "error": ["TorchScript", "state_dict()"]}

    w = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 4 - 3  # short in the manifest, and exact
    longs = torch.arange(-3, 9)
    tied = {
        "tied-same.pt": ("one tensor under two keys", {"a": w, "b": w}),
        "tied-model.pt": ("a model whose output layer is its embedding (state_dict)", Tied().state_dict()),
        "tied-views.pt": ("a tensor, a slice of rows and a flat tail (contiguous views), and its transpose",
                          {"w": w, "rows": w[1:3], "tail": w.reshape(-1)[7:], "t": w.t()}),
        # torch.save writes the whole storage, of which the file's one tensor is a part.
        "slice-only.pt": ("rows 1..2 of a 4-row tensor, saved alone", {"rows": w[1:3]}),
        "tied-int64.pt": ("int64 views at odd offsets of one storage", {"all": longs, "odd": longs[3:8]}),
    }
    for name, (what, obj) in tied.items():
        form = save(name, what, obj)
        form.update({k: v for k, v in sharing(obj).items() if v})

    write_manifest(os.path.join(out, "forms.json"), torch.__version__, forms)
    return {"forms": len(forms)}


def write_manifest(file, version, forms):
    """One line per form: small enough to commit, and a diff shows which form changed."""
    lines = [f" {json.dumps(name)}: {json.dumps(form, allow_nan=False, separators=(',', ':'))}" for name, form in sorted(forms.items())]
    with open(file, "w") as f:
        f.write(f'{{"torch": {json.dumps(version)}, "forms": {{\n' + ",\n".join(lines) + "\n}}\n")


def load(folder):
    files = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".pt"):
            continue
        try:
            obj = torch.load(os.path.join(folder, name), **({"weights_only": True} if NEW_TORCH else {}))
            storages = {k: [storage_of(t), t.storage_offset() * t.element_size()] for k, t in obj.items() if torch.is_tensor(t)}
            files[name] = {"value": describe(obj), "storages": storages}
        except Exception as e:
            files[name] = {"error": f"{type(e).__name__}: {e}"}
    return {"files": files}


if __name__ == "__main__":
    if sys.argv[1] == "--load":
        answer = load(sys.argv[2])
    else:
        answer = make(sys.argv[1])
    json.dump(dict(answer, torch=torch.__version__), sys.stdout, allow_nan=False)
