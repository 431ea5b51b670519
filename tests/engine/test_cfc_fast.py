"""The CfC forward without module calls is the ncps module's forward, bit for bit."""

import pytest
import torch
from ncps.torch import CfC
from ncps.wirings import AutoNCP

from netdrift.engine.forecasting.cfc_fast import cfc_forward, fast_path_applies


@pytest.mark.parametrize("sequences", [False, True])
def test_outputs_states_and_gradients_equal_the_module(sequences):
    torch.manual_seed(3)
    rnn = CfC(6, 8, return_sequences=sequences, backbone_units=16)
    assert fast_path_applies(rnn)
    x, h0 = torch.randn(5, 12, 6), torch.randn(5, 8)
    want_out, want_h = rnn(x, h0)
    got_out, got_h = cfc_forward(rnn, x, h0, return_sequences=sequences)
    assert torch.equal(got_out, want_out) and torch.equal(got_h, want_h)

    grads = []
    for forward in (lambda: rnn(x)[0], lambda: cfc_forward(rnn, x, return_sequences=sequences)[0]):
        rnn.zero_grad()
        forward().pow(2).sum().backward()
        grads.append([p.grad.clone() for p in rnn.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_other_cells_go_through_the_module():
    torch.manual_seed(4)
    rnn = CfC(6, AutoNCP(10, 3, seed=1), return_sequences=True)
    assert not fast_path_applies(rnn)
    x = torch.randn(2, 5, 6)
    assert torch.equal(cfc_forward(rnn, x, return_sequences=True)[0], rnn(x)[0])
    with pytest.raises(ValueError):
        cfc_forward(rnn, x, return_sequences=False)
