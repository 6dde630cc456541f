# The PyTorch side of the clipping and EMA checks (test/torch/clip-cases.ts).
# Clipping: for each case's grads, clip_grad_norm_ (its total norm and the
# clipped grads), clip_grad_value_, and the exact norm at 200 bits (mpmath).
# EMA: AveragedModel with get_ema_multi_avg_fn(decay) over a sequence of
# weights, its averages after each update and its state dict. Arrays travel
# as base64 of their little-endian bytes, floats as float.hex().
import base64, json, sys, warnings
import mpmath
import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

warnings.simplefilter('ignore')
DTYPES = {'float32': (torch.float32, np.float32), 'float64': (torch.float64, np.float64)}

def tensor(b64, dtype):
    return torch.from_numpy(np.frombuffer(base64.b64decode(b64), dtype=DTYPES[dtype][1]).copy())

def b64(t):
    return base64.b64encode(t.detach().contiguous().numpy().tobytes()).decode()

def exact_norm(arrays, p):
    mpmath.mp.prec = 200
    values = [mpmath.mpf(float(x)) for a in arrays for x in a.double().tolist()]
    if p == 'inf':
        return float(max((abs(v) for v in values), default=mpmath.mpf(0)))
    p = mpmath.mpf(p)
    return float(mpmath.fsum(abs(v) ** p for v in values) ** (1 / p))

def clip_case(case):
    grads = [tensor(g, case['dtype']) for g in case['grads']]
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads): p.grad = g.clone()
    p_type = float('inf') if case['norm_type'] == 'inf' else float(case['norm_type'])
    total = torch.nn.utils.clip_grad_norm_(params, case['max_norm'], norm_type=p_type)
    out = {'name': case['name'], 'total_norm': float(total).hex(), 'clipped': [b64(p.grad) for p in params]}
    if case['exact']: out['exact_norm'] = exact_norm(grads, case['norm_type']).hex()
    if 'clip_value' in case:
        for p, g in zip(params, grads): p.grad = g.clone()
        torch.nn.utils.clip_grad_value_(params, case['clip_value'])
        out['value_clipped'] = [b64(p.grad) for p in params]
    return out

def ema_case(case):
    dtype = DTYPES[case['dtype']][0]
    weights = [[tensor(w, case['dtype']) for w in step] for step in case['weights']]
    model = torch.nn.ParameterList([torch.nn.Parameter(w.clone()) for w in weights[0]])
    avg = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(case['decay']))
    averages = []
    for step in weights:
        with torch.no_grad():
            for p, w in zip(model, step): p.copy_(w)
        avg.update_parameters(model)
        averages.append([b64(p) for p in avg.module])
    sd = avg.state_dict()
    return {'name': case['name'], 'averages': averages, 'keys': list(sd.keys()), 'n_averaged': int(sd['n_averaged'])}

request = json.load(sys.stdin)
json.dump({'torch': torch.__version__,
           'clip': [clip_case(c) for c in request.get('clip', [])],
           'ema': [ema_case(c) for c in request.get('ema', [])]}, sys.stdout)
