# The PyTorch side of the worked example's hand-off test
# (test/train-resume.test.ts): an MLP trained with AdamW, a warmup then
# cosine schedule, clip_grad_norm_ and an AveragedModel EMA. Modes:
#   "start":  trains `warm` steps, saves the checkpoint, trains on, recording
#             each step's grads and total norm, and answers with them and the
#             state at every later step;
#   "resume": loads a checkpoint (written by Node) and trains to the end with
#             its own gradients, answering with the final state.
import base64, json, sys, warnings
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

warnings.simplefilter('ignore')
torch.manual_seed(0)
X = torch.rand(256, 4) * 2 - 1
Y = torch.sin(X[:, 0]) + X[:, 1] * X[:, 2] - X[:, 3] / 2
STEPS, WARMUP = 120, 20

def b64(t): return base64.b64encode(t.detach().contiguous().numpy().tobytes()).decode()

def build():
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    warmup = LinearLR(opt, start_factor=0.1, total_iters=WARMUP)
    cosine = CosineAnnealingLR(opt, T_max=STEPS - WARMUP, eta_min=1e-4)
    sched = SequentialLR(opt, [warmup, cosine], milestones=[WARMUP])
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
    return model, opt, sched, ema

def grads(model, step):
    model.zero_grad()
    rows = [(step * 32 + k) % 256 for k in range(32)]
    loss = ((model(X[rows]).squeeze(1) - Y[rows]) ** 2).mean()
    loss.backward()
    return float(loss)

def state(model, opt, sched, ema):
    return {'params': [b64(p) for p in model.parameters()], 'ema': [b64(p) for p in ema.module.parameters()],
            'lr': opt.param_groups[0]['lr'].hex(), 'exp_avg_sq': [b64(opt.state[p]['exp_avg_sq']) for p in model.parameters()]}

def train_step(model, opt, sched, ema, step):
    grads(model, step)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step(); sched.step(); ema.update_parameters(model)
    return norm

r = json.load(sys.stdin)
model, opt, sched, ema = build()
if r['mode'] == 'start':
    for step in range(r['warm']):
        train_step(model, opt, sched, ema, step)
    torch.save({'step': r['warm'], 'model_state_dict': model.state_dict(), 'optimizer_state_dict': opt.state_dict(),
                'scheduler_state_dict': sched.state_dict(), 'ema_state_dict': ema.state_dict(), 'loss': 0.0}, r['file'])
    recorded = []
    for step in range(r['warm'], STEPS):
        grads(model, step)
        raw = [b64(p.grad) for p in model.parameters()]
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step(); ema.update_parameters(model)
        recorded.append({'grads': raw, 'norm': float(norm).hex(), 'state': state(model, opt, sched, ema)})
    json.dump({'steps': STEPS, 'recorded': recorded}, sys.stdout)
else:
    ckpt = torch.load(r['file'])
    model.load_state_dict(ckpt['model_state_dict'])
    opt.load_state_dict(ckpt['optimizer_state_dict'])
    sched.load_state_dict(ckpt['scheduler_state_dict'])
    ema.load_state_dict(ckpt['ema_state_dict'])
    for step in range(ckpt['step'], STEPS):
        train_step(model, opt, sched, ema, step)
    json.dump(state(model, opt, sched, ema), sys.stdout)
