"""Train small lava-dl slayer CUBA networks a few steps and export them with slayer's own ``export_hdf5``
(executed by the lava venv's Python, not imported).

Usage: ``python slayer_netx_export.py out_dir [case ...]``. For every case below (or the cases named) it writes
``out_dir/<case>.net`` the way lava-dl's tutorials and its own netx test (``tests/lava/lib/dl/netx/test_hdf5.py``) do:
``layer/<i>`` groups filled by each block's ``export_hdf5``. ``out_dir/cases.json`` maps each case to
``{"error": null, "trained_values": n}``
(``n``: parameter values training changed) or, where slayer's training or export raised under this torch,
``{"error": "<Type>: <message>"}``.

Two slayer 0.6 traps under torch 2.3 are avoided here, not hit: ``Input(None)`` (no neuron) needs
``delay_shift=False`` (its ``step_delay`` reads ``block.neuron.persistent_state`` and raises ``AttributeError``), and
each block gets its own neuron dict (``Recurrent`` writes ``persistent_state=True`` into the dict it is given; a block
built from it with ``delay_shift=True`` then raises ``RuntimeError`` in ``step_delay``: torch forbids the in-place
write into the output of slayer's custom delay Function).
"""
import json
import sys
from pathlib import Path

import h5py
import torch
from lava.lib.dl import slayer

cuba = slayer.block.cuba


def _neuron(threshold=0.75, current_decay=0.25, voltage_decay=0.03):
    """slayer's CUBA neuron parameters (file: ``vThMant = threshold * 64``, decays ``* 4096``), a fresh dict per
    block: ``Recurrent`` sets ``persistent_state`` in the dict it is given."""
    return {"threshold": threshold, "current_decay": current_decay, "voltage_decay": voltage_decay, "tau_grad": 0.5,
            "scale_grad": 1.0}


def _dense():
    """Two dense blocks (the second without slayer's one-step delay_shift) and an Affine readout, no input block
    (as lava-dl's tutorials: netx reads the input size from the first block)."""
    return [cuba.Dense(_neuron(), 12, 10, weight_scale=4),
            cuba.Dense(_neuron(0.5, 0.5, 0.1), 10, 6, delay_shift=False, weight_scale=4),
            cuba.Affine(_neuron(), 6, 3)], (12,)


def _dense_delay():
    """Learnable axonal delays (``delay=True``) on two dense blocks, one with ``delay_shift=False``."""
    return [cuba.Dense(_neuron(), 12, 10, weight_scale=4, delay=True),
            cuba.Dense(_neuron(0.5, 0.1, 0.2), 10, 6, delay=True, delay_shift=False, weight_scale=4),
            cuba.Dense(_neuron(), 6, 4, weight_scale=4)], (12,)


def _cnn():
    """Input neuron (with slayer's input weight / bias), conv blocks (padding, stride, one with delays), flatten."""
    return [cuba.Input(_neuron(), weight=1.0, bias=0.0), cuba.Conv(_neuron(), 2, 4, 3, padding=1, weight_scale=4),
            cuba.Conv(_neuron(0.5, 0.0, 0.05), 4, 4, 3, stride=2, delay=True, weight_scale=4), cuba.Flatten(),
            cuba.Dense(_neuron(0.5), 36, 5, weight_scale=4)], (2, 7, 7)


def _pool():
    """A pool block after a conv block (netx cannot build pool blocks). The input block has no neuron, so it
    needs ``delay_shift=False``: slayer's ``step_delay`` reads ``block.neuron.persistent_state``."""
    return [cuba.Input(None, delay_shift=False), cuba.Conv(_neuron(), 2, 4, 3, weight_scale=4), cuba.Pool(_neuron(), 2),
            cuba.Flatten(), cuba.Dense(_neuron(), 36, 3, weight_scale=4)], (2, 8, 8)


def _recurrent():
    """slayer's recurrent CUBA block (netx ``dense_rec``)."""
    return [cuba.Recurrent(_neuron(), 6, 8, weight_scale=4),
            cuba.Dense(_neuron(0.5, 0.5, 0.1), 8, 3, weight_scale=4)], (6,)


CASES = {"dense": _dense, "dense_delay": _dense_delay, "cnn": _cnn, "pool": _pool, "recurrent": _recurrent}


def _train(make, seed, steps=4, t=24, batch=4):
    """The blocks of ``make()`` (seeded), delays spread over 0..12 steps (slayer initialises them in [0, 1), which
    floors to 0), then a few Adam steps on random spikes toward random spike rates; also returns how many parameter
    values training changed."""
    torch.manual_seed(seed)
    blocks, in_shape = make()
    net = torch.nn.Sequential(*blocks)
    x = (torch.rand(batch, *in_shape, t) < 0.3).float()
    net(x)  # shapes (and delays) are set on the first forward
    for b in blocks:
        if getattr(b, "delay", None) is not None:
            b.delay.delay.data = torch.rand_like(b.delay.delay) * 12
    target = 0.1 + torch.rand(batch, *net(x).shape[1:-1]) * 0.3
    before = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(steps):
        loss = ((net(x).mean(-1) - target) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, sum(int((a != p).sum()) for a, p in zip(before, net.parameters()))


def main(out_dir: str, names: list[str]) -> None:
    torch.set_num_threads(1)  # the same float sums, so the same trained files, on every machine
    out = Path(out_dir)
    report = {}
    for seed, (name, make) in enumerate(CASES.items()):  # a case's seed does not depend on the cases asked for
        if names and name not in names:
            continue
        try:
            net, changed = _train(make, seed)
            with h5py.File(out / f"{name}.net", "w") as h:
                layer = h.create_group("layer")
                for i, b in enumerate(net):
                    b.export_hdf5(layer.create_group(f"{i}"))
            report[name] = {"error": None, "trained_values": changed}
        except Exception as e:  # noqa: BLE001  (reported to the test, which names the block that crashed)
            report[name] = {"error": f"{type(e).__name__}: {e}"}
    (out / "cases.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    unknown = set(sys.argv[2:]) - set(CASES)
    if unknown:
        sys.exit(f"slayer_netx_export.py: unknown case(s) {sorted(unknown)}; cases: {list(CASES)}")
    main(sys.argv[1], sys.argv[2:])
