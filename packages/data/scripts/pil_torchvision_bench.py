#!/usr/bin/python3
"""The yardstick of the `data` bench case: PIL + torchvision doing the same work on the same files.

Decode a CUB photo with PIL, RandomResizedCrop(224), RandomHorizontalFlip, ColorJitter(0.4, 0.4, 0.4),
ToTensor, Normalize(ImageNet), collate batches of 32; 512 photos spread over cub-subset-train, as the case does.
Reports images/s, median of 5 runs after 1 warm-up, in one process and with a DataLoader of `workers` processes.

usage: /usr/bin/python3 pil_torchvision_bench.py [subset_root=../shared/data/cub-subset-train] [workers=2] [threads=1]
(needs: apt-get install python3-torch python3-torchvision python3-pil)
"""
import os, statistics, sys, time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../../shared/data/cub-subset-train")
workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
cub = os.path.join(root, "CUB_200_2011")
names = [line.split()[1] for line in open(os.path.join(cub, "images.txt")) if line.strip()]
N = 512
paths = [os.path.join(cub, "images", names[(i * len(names)) // N]) for i in range(N)]

transform = transforms.Compose([
    transforms.RandomResizedCrop(224),
    transforms.RandomHorizontalFlip(),
    transforms.ColorJitter(0.4, 0.4, 0.4),
    transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
])


class Photos(Dataset):
    def __len__(self):
        return N

    def __getitem__(self, i):
        with open(paths[i], "rb") as f:
            return transform(Image.open(f).convert("RGB"))


def one_pass(loader):
    count = 0
    for batch in loader:
        count += batch.shape[0]
    return count


def measure(workers):
    loader = DataLoader(Photos(), batch_size=32, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
    one_pass(loader)
    rates = []
    for _ in range(5):
        t = time.perf_counter()
        n = one_pass(loader)
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates), min(rates), max(rates)


for w in sorted({0, workers}):
    med, lo, hi = measure(w)
    print(f"pil+torchvision workers={w}: median {med:.1f} img/s (min {lo:.1f}, max {hi:.1f})")
