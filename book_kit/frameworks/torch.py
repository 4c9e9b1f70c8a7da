"""PyTorch versions of the helpers every framework module has."""

import torch


def devices() -> list[str]:
    gpus = [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    return ["cpu:0"] + gpus
