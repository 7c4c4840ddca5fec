"""Neuron core: reference semantics by hand, state handling, bad input, encoders."""
import math

import pytest
import torch

import neurokit as nk
from neurokit.neurons import functional as F

ALL = [nk.LIF, nk.IF, nk.CubaLIF, nk.ALIF, nk.PLIF]


def test_lif_hand_computed_sequence():
    # tau=2, decay_input=True, hard reset to 0, threshold 1: h = v + (x - v)/2
    lif = nk.LIF(tau=2.0, backend="torch", store_v_seq=True)
    x = torch.tensor([1.5, 1.5, 1.5, 0.0]).reshape(4, 1, 1)
    s = lif(x).flatten().tolist()
    # h: 0.75 -> 0.75+0.375=1.125 (spike, v=0) -> 0.75 -> 0.375
    assert s == [0.0, 1.0, 0.0, 0.0]
    torch.testing.assert_close(lif.v_seq.flatten(), torch.tensor([0.75, 0.0, 0.75, 0.375]))


def test_soft_reset_and_strict_threshold():
    lif = nk.LIF(tau=1.0, v_reset=None, decay_input=False, backend="torch", store_v_seq=True)
    x = torch.tensor([1.0, 2.5]).reshape(2, 1, 1)     # h = x (tau=1 forgets everything)
    assert lif(x).flatten().tolist() == [0.0, 1.0]     # exactly at threshold: no spike (strict >)
    assert lif.v_seq.flatten().tolist() == [1.0, 1.5]


def test_cuba_lif_matches_loihi_float_model():
    # Lava float LIF: u = u(1-du) + a_in; v = v(1-dv) + u; spike v > vth; v = 0
    du, dv, vth = 0.25, 0.5, 1.0
    x = torch.rand(20, 3, 4) * 0.8
    u = torch.zeros(3, 4)
    v = torch.zeros(3, 4)
    ref = []
    for t in range(20):
        u = u * (1 - du) + x[t]
        v = v * (1 - dv) + u
        s = (v > vth).float()
        v = v * (1 - s)
        ref.append(s)
    ours = nk.CubaLIF(tau_syn=1 / du, tau_mem=1 / dv, v_threshold=vth, backend="torch")(x)
    assert torch.equal(ours, torch.stack(ref))


def test_alif_threshold_adapts():
    alif = nk.ALIF(tau=2.0, tau_adapt=10.0, beta=2.0, backend="torch")
    lif = nk.LIF(tau=2.0, backend="torch")
    x = torch.full((50, 1, 1), 3.0)
    assert alif(x).sum() < lif(x).sum()


@pytest.mark.parametrize("cls", ALL)
def test_state_starts_at_rest_each_call_and_return_state(cls):
    m = cls(backend="torch")
    x = torch.randn(7, 2, 5) + 0.5
    a = m(x)
    b, state = m(x, return_state=True)
    assert torch.equal(a, b)
    assert state.v.shape == (2, 5)


@pytest.mark.parametrize("cls", ALL)
def test_backward_runs_for_every_family(cls):
    m = cls(backend="torch")
    x = (torch.randn(5, 3, 4) + 0.8).requires_grad_(True)
    m(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("cls", ALL)
def test_bad_inputs_raise_clear_errors(cls):
    m = cls(backend="torch")
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        m([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"time-major \[T, B, ...\].*shape \(5,\)"):
        m(torch.zeros(5))
    with pytest.raises(TypeError, match="floating-point.*torch.int64"):
        m(torch.zeros(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="NaN or Inf"):
        m(torch.tensor([[0.0], [math.nan]]))
    with pytest.raises(ValueError, match="NaN or Inf"):
        m(torch.tensor([[0.0], [math.inf]]))


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ValueError, match="tau must be a finite number >= 1.0, got 0"):
        nk.LIF(tau=0)
    with pytest.raises(ValueError, match="tau must be"):
        nk.LIF(tau=-2.0)
    with pytest.raises(ValueError, match="tau_syn"):
        nk.CubaLIF(tau_syn=0.5)
    with pytest.raises(ValueError, match="init_tau must be a finite number > 1.0"):
        nk.PLIF(init_tau=1.0)
    with pytest.raises(ValueError, match="tau_adapt"):
        nk.ALIF(tau_adapt=0.0)
    with pytest.raises(ValueError, match="v_reset=2.0 must be below v_threshold=1.0"):
        nk.LIF(v_reset=2.0)
    with pytest.raises(ValueError, match="backend must be one of"):
        nk.LIF(backend="cuda")
    with pytest.raises(ValueError, match="unknown name 'foo'"):
        nk.IF(surrogate="foo")


def test_reference_loop_contract_shapes():
    x = torch.randn(6, 2, 3, 4)
    s, v, state = F.lif_reference(x, F.LIFParams(), nk.surrogate.get("atan"))
    assert s.shape == v.shape == x.shape and state.v.shape == x.shape[1:]


def test_encoders():
    x = torch.rand(3, 10)
    r1, r2 = nk.encode.rate(x, 50, seed=1), nk.encode.rate(x, 50, seed=1)
    assert torch.equal(r1, r2) and r1.shape == (50, 3, 10)
    assert set(r1.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(nk.encode.rate(torch.full((1, 2000), 0.3), 200, seed=0).mean(),
                               torch.tensor(0.3), atol=0.01, rtol=0)
    lat = nk.encode.latency(torch.tensor([[1.0, 0.5, 0.0]]), T=10, linear=True)
    assert lat.sum(0).tolist() == [[1.0, 1.0, 0.0]]            # each input at most once; 0 never spikes
    assert lat[:, 0, 0].argmax() == 0 and lat[:, 0, 1].argmax() == 4   # brighter spikes earlier: (1-x)(T-1)
    rc = nk.encode.latency(torch.tensor([[1.0, 0.2]]), T=20)
    assert rc[:, 0, 0].argmax() < rc[:, 0, 1].argmax()
    seq = torch.tensor([0.0, 0.5, 0.55, 0.1]).reshape(4, 1)
    assert nk.encode.delta(seq, threshold=0.2).flatten().tolist() == [0.0, 1.0, 0.0, 0.0]
    assert nk.encode.delta(seq, threshold=0.2, off_spikes=True).flatten().tolist() == [0.0, 1.0, 0.0, -1.0]
    d = nk.encode.direct(x, 4)
    assert d.shape == (4, 3, 10) and torch.equal(d[2], x)
    with pytest.raises(ValueError, match="T must be an int >= 1"):
        nk.encode.rate(x, 0)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        nk.encode.direct([1.0], 3)
    with pytest.raises(ValueError, match="threshold must be > 0"):
        nk.encode.delta(seq, threshold=0.0)


def test_surrogate_figure_is_written(tmp_path):
    from neurokit.cli.plotting import plot_surrogates

    out = plot_surrogates(tmp_path / "s.png")
    with open(out, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
