"""The ncps CfC's forward pass without its per-step module calls (same operations, same result).

``ncps.torch.CfC`` steps its cell through ``nn.Module.__call__`` and each cell step calls six
more modules (the backbone's linear and activation, ``ff1``, ``ff2``, ``time_a``, ``time_b``):
over a 24-step window that is about 200 module calls a forecast, and their Python overhead is
most of a small network's cost on a CPU. :func:`cfc_forward` runs the same tensor operations in
the same order on the same parameters (so the output is bit-for-bit the module's, and autograd
gives the same gradients), for the configuration the forecasters build: the fully connected cell
in the ``default`` mode, a LeCun-tanh backbone, no mixed memory, no projection, unit time spans.
Anything else (an AutoNCP wiring, another mode) goes through the module as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from ncps.torch import CfC
from ncps.torch.cfc_cell import CfCCell, LeCun
from torch import nn

__all__ = ["cfc_forward", "fast_path_applies"]


def fast_path_applies(rnn: nn.Module) -> bool:
    """Whether :func:`cfc_forward` reproduces ``rnn``'s forward exactly (else it calls the module)."""
    if not isinstance(rnn, CfC) or rnn.use_mixed or not isinstance(rnn.fc, nn.Identity) or not rnn.batch_first:
        return False
    cell = rnn.rnn_cell
    if type(cell) is not CfCCell or cell.mode != "default" or cell.sparsity_mask is not None:
        return False
    if cell.backbone_layers < 1 or cell.backbone is None:
        return False
    layers = list(cell.backbone)
    # Linear, LeCun pairs only (a dropout layer, which training would apply, is not reproduced).
    return len(layers) == 2 * cell.backbone_layers and all(
        isinstance(m, nn.Linear) if i % 2 == 0 else type(m) is LeCun for i, m in enumerate(layers))


def cfc_forward(rnn: nn.Module, seq: torch.Tensor, hx: torch.Tensor | None = None,
                return_sequences: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``rnn(seq, hx)`` of a batch-first CfC: (last output or (B, L, U) outputs, last state).

    ``return_sequences`` says what the first element is, whatever the module's own setting.
    """
    if not fast_path_applies(rnn):
        out, h = rnn(seq, hx)
        if return_sequences == bool(rnn.return_sequences):
            return out, h
        raise ValueError("the CfC's return_sequences differs from the one asked for")
    cell: CfCCell = rnn.rnn_cell
    backbone = [(m.weight, m.bias) for m in list(cell.backbone)[0::2]]
    w1, b1 = cell.ff1.weight, cell.ff1.bias
    w2, b2 = cell.ff2.weight, cell.ff2.bias
    wa, ba = cell.time_a.weight, cell.time_a.bias
    wb, bb = cell.time_b.weight, cell.time_b.bias
    batch, length = seq.shape[0], seq.shape[1]
    h = torch.zeros((batch, int(rnn.state_size)), device=seq.device) if hx is None else hx  # type: ignore[arg-type]  # ncps: an int attribute; the Module stub says Tensor | Module
    outputs = []
    for t in range(length):
        # CfCCell.forward, op for op (ts = 1.0), with LeCun's 1.7159 * tanh(0.666 * x).
        x = torch.cat([seq[:, t], h], 1)
        for w, b in backbone:
            x = 1.7159 * torch.tanh(0.666 * F.linear(x, w, b))
        ff1 = torch.tanh(F.linear(x, w1, b1))
        ff2 = torch.tanh(F.linear(x, w2, b2))
        t_a = F.linear(x, wa, ba)
        t_b = F.linear(x, wb, bb)
        t_interp = torch.sigmoid(t_a * 1.0 + t_b)
        h = ff1 * (1.0 - t_interp) + t_interp * ff2
        if return_sequences:
            outputs.append(h)
    return (torch.stack(outputs, dim=1) if return_sequences else h), h
