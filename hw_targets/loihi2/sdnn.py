"""Bit-accurate simulation of netx sigma-delta (``SDNN``) networks: Lava's ``fixed_pt`` ``Delta`` / ``SigmaDelta`` /
``Sigma`` models (lava-nc 0.10 ``lava/proc/sdn/models.py``, ``process.py``) behind netx's Dense / Conv synapses.

netx (``lava/lib/dl/netx/hdf5.py``, ``get_neuron_params``) builds every SDNN neuron with ``spike_exp = 6``,
``state_exp = 6`` (so ``E = spike_exp + state_exp = 12``), ReLU and no cumulative error; Lava scales ``vth`` and
``bias`` by ``2**E`` when it builds the process. Per step ``t``, integers, ``act[-1] = residue[-1] = 0``:

* input block (``Delta``): ``a = a_in[t] << E``; ``d = a - act + residue``;
  ``y = d if |d| >= vth << E else 0``; ``residue = d - y``; ``act = a``; message ``y >> state_exp``
* ``SigmaDelta``: ``sigma += a_in[t]``; ``a = relu(sigma + (bias << E))``; the same delta encoder; message
  ``y >> state_exp``
* ``Sigma`` (``neuron/sigma_output``): ``sigma += a_in[t]``; the message is ``sigma``

``a_in`` of a block is its synapse's accumulation of the previous block's messages one step late
(:func:`hw_targets.loihi2.simulator.synaptic_input`: Dense ``weights.dot(s_in)`` shifted by the weight exponent, Conv
wrapped to 24 bits). Lava keeps these states in ``int32`` and sends 24-bit messages; a run whose states leave the
int32 range (or whose messages leave 24 bits) raises :class:`neurokit.errors.IntegerOverflowError` (an
``OverflowError``) naming the block, step and neuron instead of wrapping. The arithmetic itself is
:func:`neurokit.integer.sigma_delta_step`.

Example::

    net = load_netx("pilotnet_sdnn/network.net")
    rec = simulate(net, frames, record=True)    # frames: int [T, B, C*H*W]; rec.spikes: graded messages per block
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neurokit.integer import SD_SPIKE_EXP, SD_STATE_EXP, IntSigmaDeltaParams, sigma_delta_run

if TYPE_CHECKING:
    from .network import InputLayer, LoihiLayer, LoihiNetwork

_E = SD_SPIKE_EXP + SD_STATE_EXP
#: Largest SDNN ``vThMant``: Lava's process holds ``vThMant << 12`` in an int32.
SDNN_VTH_MANT_LIMIT = (1 << 19) - 1


@dataclass(frozen=True)
class SigmaDeltaNeuron:
    """A netx ``SDNN`` neuron (graded spikes), as ``hdf5.Network.get_neuron_params`` builds it: ``kind`` is
    ``"delta"`` (an input block: Lava ``Delta``), ``"sigma_delta"`` (Lava ``SigmaDelta``, ReLU) or ``"sigma"``
    (``neuron/sigma_output``: Lava ``Sigma``, the integrated input is the output). ``vth_mant``: ``neuron/vThMant``.
    A layer with one ignores its CUBA fields (``i_decay``, ``v_decay``, ``vth_mant``). Simulated by
    :mod:`hw_targets.loihi2.sdnn`.

    Example:
        >>> SigmaDeltaNeuron("sigma_delta", 13).kind
        'sigma_delta'
    """

    kind: str
    vth_mant: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("delta", "sigma_delta", "sigma"):
            raise ValueError(f"SDNN neuron kind {self.kind!r}, expected 'delta', 'sigma_delta' or 'sigma'")
        if isinstance(self.vth_mant, bool) or not isinstance(self.vth_mant, (int, np.integer)) or not (
                0 <= self.vth_mant <= SDNN_VTH_MANT_LIMIT):
            raise ValueError(f"SDNN vThMant: {self.vth_mant!r}, expected an int in 0..{SDNN_VTH_MANT_LIMIT}")


def is_sdnn(net: LoihiNetwork) -> bool:
    """Whether ``net`` is a sigma-delta network (its layers carry :class:`SigmaDeltaNeuron` s).

    Example:
        >>> is_sdnn(load_netx("pilotnet_sdnn/network.net"))
        True
    """
    return any(layer.sdnn is not None for layer in net.layers)


def _delta_encode(a: np.ndarray, vth_mant: int, name: str, bias: np.ndarray | None = None,
                  sigma: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Run one SDNN neuron over ``a [T, B, n]`` (int64) with :func:`neurokit.integer.sigma_delta_run` (Lava's
    fixed-point arithmetic, written once there). Returns ``(messages, state)`` ``[T, B, n]``; the state is ``sigma``
    (a sigma or sigma-delta neuron) or ``act`` (an input ``Delta``)."""
    kind = "sigma" if sigma else "delta" if bias is None else "sigma_delta"
    params = IntSigmaDeltaParams(kind, vth=np.int64(vth_mant) << _E, bias=0 if bias is None else bias)  # netx's exps
    return sigma_delta_run(a, params, name, record_state=True)


def _bias(layer: LoihiLayer) -> np.ndarray:
    if layer.bias is None:
        return np.zeros(layer.n_out, np.int64)
    b = layer.bias.astype(np.int64)
    return (np.repeat(b, layer.n_out // b.size) if layer.conv is not None else b) << _E


def run_sdnn_layer(layer: LoihiLayer, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One SDNN block on the previous block's messages ``s [T, B, in]``: ``(messages, sigma)`` int64 ``[T, B, out]``.

    Example:
        >>> layer = LoihiLayer(np.array([[2, 1]]), 4096, 0, 0, sdnn=SigmaDeltaNeuron("sigma"))
        >>> run_sdnn_layer(layer, np.ones((3, 1, 2), np.int64))[0][:, 0, 0].tolist()
        [0, 3, 6]
    """
    from .simulator import synaptic_input

    a = synaptic_input(layer, s.astype(np.float64))
    kind = layer.sdnn.kind
    if kind == "sigma":
        return _delta_encode(a, 0, layer.name or "sigma", sigma=True)
    return _delta_encode(a, layer.sdnn.vth_mant, layer.name or "sigma_delta", bias=_bias(layer))


def run_sdnn_input(inp: InputLayer, x: np.ndarray) -> np.ndarray:
    """The input block's ``Delta`` on the integer input ``x [T, B, n]`` (netx feeds it to ``a_in``): messages."""
    return _delta_encode(x.astype(np.int64), inp.sdnn.vth_mant, "input")[0]


def check_sdnn(net: LoihiNetwork) -> None:
    """Every block of a sigma-delta network must be SDNN, and only the last may be a ``sigma`` output."""
    for i, layer in enumerate(net.layers):
        if layer.sdnn is None:
            raise ValueError(f"layer {i}: a CUBA block in a sigma-delta network is not supported (mixed networks)")
        if layer.sdnn.kind == "sigma" and i != len(net.layers) - 1:
            raise ValueError(f"layer {i}: a sigma (sigma_output) block must be the last block")
        if layer.sdnn.kind == "delta":
            raise ValueError(f"layer {i}: a Delta neuron belongs to the input block only")
        if layer.weight_rec is not None:
            raise ValueError(f"layer {i}: a recurrent (dense_rec) sigma-delta block is not supported")
        if layer.sdnn.kind == "sigma" and layer.bias is not None:
            raise ValueError(f"layer {i}: a sigma (sigma_output) block cannot have a bias (Lava's Sigma takes none)")
    if net.input_layer is not None and (net.input_layer.sdnn is None or net.input_layer.sdnn.kind != "delta"):
        raise ValueError("input block: a sigma-delta network's input neuron must be an SDNN Delta")


__all__ = ["SigmaDeltaNeuron", "is_sdnn", "run_sdnn_layer", "run_sdnn_input", "check_sdnn"]
