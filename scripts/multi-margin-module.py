"""Writes src/ops/multi_margin_loss.pt, the TorchScript function through which the
libtorch backend calls aten's multi_margin_loss: tch 0.26 binds every loss but this one
(its generator excludes `multi_margin_loss` and `multi_margin_loss_out`), and the
TorchScript interpreter dispatches the op as Python's `torch._C._nn.multi_margin_loss`
does, autograd included. Run with the PyTorch 2.13 that scripts/setup-libtorch.sh
installs, from the repository root:

    ~/.cache/lossparity/torch-2.13.0/bin/python scripts/multi-margin-module.py
"""

from typing import Optional

import torch


class MultiMarginLoss(torch.nn.Module):
    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        p: int,
        margin: float,
        weight: Optional[torch.Tensor],
        reduction: int,
    ) -> torch.Tensor:
        return torch._C._nn.multi_margin_loss(input, target, p, margin, weight, reduction)


if __name__ == "__main__":
    torch.jit.save(torch.jit.script(MultiMarginLoss()), "src/ops/multi_margin_loss.pt")
