# The PyTorch CPU anchor of `npm run bench -- train`: the same host models, batch, optimizer and data as Tolaria's
# (MLP 784-256-128-10 or the small CNN, Adam 1e-3, batch 64, MNIST scaled and standardised), timed over a fixed
# number of steps after a warm-up. Prints one JSON line: {"samples_per_s": ...}. Run with Debian's python3 and
# OPENBLAS_NUM_THREADS=1 (bench/train.bench.ts does).
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def model(kind, channels, dense):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    layers, c, size = [], 1, 28
    for filters in channels:
        layers += [nn.Conv2d(c, filters, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        c, size = filters, size // 2
    layers.append(nn.Flatten())
    features = c * size * size
    for units in dense:
        layers += [nn.Linear(features, units), nn.ReLU()]
        features = units
    layers.append(nn.Linear(features, 10))
    return nn.Sequential(*layers)


def main():
    kind, steps, data_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    channels = [int(c) for c in os.environ.get("ANCHOR_CNN_CHANNELS", "8,16").split(",")]
    dense = [int(c) for c in os.environ.get("ANCHOR_CNN_DENSE", "64").split(",")]
    torch.manual_seed(1)
    torch.set_num_threads(int(os.environ.get("ANCHOR_THREADS", "2")))
    x = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte")).astype(np.int64)
    x = (x - x.mean()) / x.std()
    x = torch.from_numpy(x).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(y)
    net = model(kind, channels, dense)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    batch = 64
    order = torch.randperm(x.shape[0])

    def step(i):
        idx = order[(i * batch) % (x.shape[0] - batch) :][:batch]
        opt.zero_grad()
        loss = loss_fn(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
        return loss

    for i in range(10):
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        loss = step(i)
    float(loss)
    seconds = time.perf_counter() - start
    print(json.dumps({"samples_per_s": steps * batch / seconds, "threads": torch.get_num_threads()}))


main()
