import torch, sys
torch.manual_seed(0)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(10, 4)
        self.block = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU())
        self.head = torch.nn.Linear(4, 10, bias=True)
        self.head.weight = self.embed.weight   # tied
        self.register_buffer('position_ids', torch.arange(6).float())
    def forward(self, x): return self.head(self.block(self.embed(x)))
m = Net()
m.block[1].running_mean += 0.5
m.block[1].num_batches_tracked += 3
sd = m.state_dict()
print([ (k, str(v.dtype), tuple(v.shape)) for k, v in sd.items()])
print([n for n, _ in m.named_parameters()])
opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
x = torch.randint(0, 10, (8,))
m(x).sum().backward(); opt.step()
print(len(opt.state_dict()['param_groups'][0]['params']))
torch.save({'epoch': 1, 'model_state_dict': sd, 'optimizer_state_dict': opt.state_dict(), 'loss': 0.5}, sys.argv[1])
