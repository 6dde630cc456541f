# The PyTorch side of test/tfjs-torch.test.ts: an nn.Sequential MLP trained
# in PyTorch, continued in TensorFlow.js through simd-optim/tfjs, and back.
# Modes (a JSON request on stdin, the answer on stdout):
#   "start":  trains `warm` steps, saves <dir>/model.pt and <dir>/optimizer.pt,
#             trains `more` steps recording each step's gradients and the
#             weights and optimizer state after it, then `tail` steps more,
#             and answers with all of it and the final weights;
#   "resume": loads <dir>/node-model.pt and <dir>/node-optimizer.pt (written
#             by Node after the `more` steps), trains the `tail` steps with its
#             own gradients, and answers with the final weights.
import base64, json, sys, warnings
import torch

warnings.simplefilter('ignore')
torch.manual_seed(0)
X = torch.randn(256, 64)
Y = torch.randint(0, 10, (256,))


def b64(t):
    return base64.b64encode(t.detach().contiguous().numpy().tobytes()).decode()


def build(r):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    params = model.named_parameters() if r['named'] else model.parameters()
    opt = getattr(torch.optim, r['optimizer'])(params, **r['options'])
    return model, opt


def backward(model, step):
    model.zero_grad()
    rows = [(step * 32 + k) % 256 for k in range(32)]
    torch.nn.functional.cross_entropy(model(X[rows]), Y[rows]).backward()


def weights(model):
    return {name: b64(p) for name, p in model.named_parameters()}


def state(model, opt):
    return {name: {key: b64(v) if torch.is_tensor(v) else v for key, v in opt.state[p].items()}
            for name, p in model.named_parameters()}


r = json.load(sys.stdin)
model, opt = build(r)
if r['mode'] == 'start':
    for step in range(r['warm']):
        backward(model, step)
        opt.step()
    torch.save(model.state_dict(), f"{r['dir']}/model.pt")
    torch.save(opt.state_dict(), f"{r['dir']}/optimizer.pt")
    recorded = []
    for step in range(r['warm'], r['warm'] + r['more']):
        backward(model, step)
        grads = {name: b64(p.grad) for name, p in model.named_parameters()}
        opt.step()
        recorded.append({'grads': grads, 'weights': weights(model), 'state': state(model, opt)})
    for step in range(r['warm'] + r['more'], r['warm'] + r['more'] + r['tail']):
        backward(model, step)
        opt.step()
    print(json.dumps({'recorded': recorded, 'final': weights(model)}))
else:
    model.load_state_dict(torch.load(f"{r['dir']}/node-model.pt", weights_only=True))
    opt.load_state_dict(torch.load(f"{r['dir']}/node-optimizer.pt", weights_only=True))
    start = r['warm'] + r['more']
    for step in range(start, start + r['tail']):
        backward(model, step)
        opt.step()
    print(json.dumps({'final': weights(model)}))
