# The PyTorch side of the LR scheduler checks (test/torch/sched-cases.ts):
# runs each case's scheduler and answers with every group's lr (and
# momentum) after construction and after each step, as float64 bits in
# base64. With "save" it also writes the optimizer's and the scheduler's
# state dicts at a step with torch.save; with "resume" it loads them from a
# file (written by Node) and continues. Runs under PyTorch 1.13 and 2.x; a
# case a version refuses answers with its error.
import base64, json, math, struct, sys, warnings
import torch
from torch.optim import lr_scheduler as L

warnings.simplefilter('ignore')
INTS = {'step_size', 'milestones', 'total_iters', 'T_max', 'T_0', 'T_mult', 'step_size_up', 'step_size_down',
        'total_steps', 'epochs', 'steps_per_epoch', 'patience', 'cooldown', 'last_epoch'}
LAMBDAS = {
    'warmup': lambda e: min(1.0, (e + 1) / 100),
    'inverse': lambda e: 1.0 / (1.0 + 0.01 * e),
    'constant': lambda e: 0.99,
    'alternate': lambda e: 0.9 if e % 2 else 1.05,
}

def pyargs(spec):
    out = {}
    for k, v in spec.get('args', {}).items():
        if k in ('lr_lambda',):
            out[k] = [LAMBDAS[x] for x in v] if isinstance(v, list) else LAMBDAS[v]
        elif k == 'scale_fn':
            out[k] = LAMBDAS[v]
        elif k in INTS:
            out[k] = [int(x) for x in v] if isinstance(v, list) else int(v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(v)
        elif isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            out[k] = [float(x) for x in v]
        else:
            out[k] = v
    return out

def make_optimizer(case):
    groups = [{'params': [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))], 'lr': float(lr)} for lr in case['lrs']]
    kind = case['optimizer']
    if kind == 'SGD': return torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    if kind == 'Adam': return torch.optim.Adam(groups, lr=0.1)
    if kind == 'AdamW': return torch.optim.AdamW(groups, lr=0.1)
    if kind == 'RMSprop': return torch.optim.RMSprop(groups, lr=0.1, momentum=0.5)
    return torch.optim.Adagrad(groups, lr=0.1)

def make_scheduler(opt, spec):
    kind = spec['kind']
    if kind == 'SequentialLR':
        children = [make_scheduler(opt, s) for s in spec['children']]
        return L.SequentialLR(opt, children, [int(m) for m in spec['args']['milestones']])
    if kind == 'ChainedScheduler':
        return L.ChainedScheduler([make_scheduler(opt, s) for s in spec['children']])
    return getattr(L, kind)(opt, **pyargs(spec))

def record(opt, out):
    for g in opt.param_groups:
        out.append(float(g['lr']))
        if 'betas' in g: out.append(float(g['betas'][0]))
        elif 'momentum' in g: out.append(float(g['momentum']))

def pack(values):
    return base64.b64encode(struct.pack('<%dd' % len(values), *values)).decode()

def run(case):
    opt = make_optimizer(case)
    sched = make_scheduler(opt, case['scheduler'])
    plateau = case['scheduler']['kind'] == 'ReduceLROnPlateau'
    values, start = [], 0
    if 'resume' in case:
        saved = torch.load(case['resume']['file'])
        opt.load_state_dict(saved['optimizer'])
        sched.load_state_dict(saved['scheduler'])
        start = case['resume']['step']
    record(opt, values)
    for t in range(start, case['steps']):
        opt.step()
        if plateau: sched.step(case['metrics'][t])
        else: sched.step()
        record(opt, values)
        if case.get('save') and case['save']['step'] == t + 1:
            torch.save({'optimizer': opt.state_dict(), 'scheduler': sched.state_dict()}, case['save']['file'])
    last = sched.get_last_lr() if hasattr(sched, 'get_last_lr') else sched._last_lr  # 1.13's ReduceLROnPlateau has no get_last_lr
    return {'name': case['name'], 'values': pack(values), 'last_lr': [float(x) for x in last]}

def answer(case):
    try:
        return run(case)
    except Exception as e:  # a case this version refuses (1.13's CyclicLR takes no betas)
        return {'name': case['name'], 'error': '%s: %s' % (type(e).__name__, e)}

request = json.load(sys.stdin)
json.dump({'torch': torch.__version__, 'cases': [answer(c) for c in request['cases']]}, sys.stdout)
