"""Quantization-aware training on sklearn digits: k-bit MLPs (Brevitas) vs float, and integer SNNs.

    python examples/quantized_snn.py            # full run (README figures)
    python examples/quantized_snn.py --quick    # reduced (CI)

ANN: 64 -> 128 -> 10 (ReLU), T = 1; quant_mlp(bits=k): k-bit per-channel weights and k-bit activations.
SNN: quant_snn: k-bit weights, 8-bit input, LIF membrane held in a saturating integer of `membrane_bits`, Lava decay.
The table also checks every integer SNN against the int64 reference (bit-exact spikes) and reports the largest
membrane magnitude seen on the test set against the range.
"""
import argparse
import time
import warnings

import torch
from torch import nn

import neurokit as nk
from neurokit.data.digits import digits
from neurokit.layers.quant import quant_lif_reference

warnings.filterwarnings("ignore", module="brevitas")


def fit(model, T, epochs, seed=0, lr=1e-2):
    """``nk.train`` (AdamW without weight decay, cosine LR per step, batch 64); returns (model, test accuracy
    fraction, test input [T, N, 64])."""
    train, test = digits(T=T, encoding="direct", seed=0)
    history = nk.train(model, train, epochs, test_data=test, lr=lr, weight_decay=0.0, batch_size=64, seed=seed,
                       device="cpu", progress=False)
    model.eval()
    return model, history[-1]["test_acc"], test.x.transpose(0, 1)


def integer_check(model, x):
    """Integer-only forward of the hidden blocks vs the trained model: (bit-exact?, max |v|, v_max)."""
    first = model[0].synapse
    levels = 2 ** first.input_bits - 1
    h_int = torch.clamp(torch.round(x.double() * levels), 0, levels).long()
    h, exact, peak = x, True, 0
    with torch.no_grad():
        for block in model[:-1]:
            p = block.integer_params()
            acc = torch.einsum("tbi,oi->tbo", h_int, p["weight"].long())
            s, v = quant_lif_reference(acc, p["threshold"], p["decay"], p["membrane_bits"], p["input_shift"],
                                       p["accumulator_shift"])
            h = block(h)
            exact &= torch.equal(h, s.float())
            peak = max(peak, int(v.abs().max()))
            h_int = s.long()
    return exact, peak, 2 ** (model[0].neuron.membrane_bits - 1) - 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few epochs (CI)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--T", type=int, default=4, help="time steps of the SNNs")
    args = parser.parse_args()
    epochs = 4 if args.quick else args.epochs
    print(f"digits, {epochs} epochs, hidden 128")
    print(f"{'model':<40}{'test acc (%)':>13}{'time (s)':>10}")
    start = time.time()
    _, float_acc, _ = fit(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)), 1, epochs)
    print(f"{'float MLP':<40}{100 * float_acc:>13.2f}{time.time() - start:>10.1f}")
    for bits in (8, 4, 2):
        start = time.time()
        _, acc, _ = fit(nk.models.quant_mlp(64, (128,), bits=bits), 1, epochs)
        print(f"{f'QAT MLP W{bits}A{bits}':<40}{100 * acc:>13.2f}{time.time() - start:>10.1f}"
              f"   ({100 * (acc - float_acc):+.2f} vs float)")
    start = time.time()
    _, acc, _ = fit(nn.Sequential(nn.Linear(64, 128), nk.LIF(decay_input=False), nn.Linear(128, 10)), args.T, epochs)
    print(f"{'float SNN (LIF)':<40}{100 * acc:>13.2f}{time.time() - start:>10.1f}")
    for weight_bits, membrane_bits in ((8, 16), (4, 12), (4, 8), (2, 8)):
        start = time.time()
        model, acc, x_te = fit(nk.models.quant_snn(64, (128,), weight_bits=weight_bits, membrane_bits=membrane_bits,
                                                   input_bits=8), args.T, epochs)
        exact, peak, v_max = integer_check(model, x_te)
        name = f"integer SNN W{weight_bits}, membrane {membrane_bits}-bit"
        print(f"{name:<40}{100 * acc:>13.2f}{time.time() - start:>10.1f}   integer-exact={exact}, "
              f"max|v|={peak} <= {v_max}")


if __name__ == "__main__":
    main()
