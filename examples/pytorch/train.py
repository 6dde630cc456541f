# The PyTorch side of examples/resume-from-pytorch.ts: fits a linear model
# for 10 steps with RMSprop and saves the model and the optimizer, as a
# training script would. Run with PyTorch 1.13 or 2.x:
#   python3 examples/pytorch/train.py
import os

import torch

torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
opt = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, momentum=0.5)
x = torch.linspace(-1, 1, 64).reshape(16, 4)
y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.25
for _ in range(10):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
print(f"PyTorch: loss after 10 steps {loss.item():.6f}")
here = os.path.dirname(os.path.abspath(__file__))
torch.save(model.state_dict(), os.path.join(here, "model.pt"))
torch.save(opt.state_dict(), os.path.join(here, "optimizer.pt"))
