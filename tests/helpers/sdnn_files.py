"""Hand-written netx sigma-delta files (h5py directly, not neurokit's writer) shared by the SDNN tests."""
import h5py
import numpy as np


def sdnn_file(path, activation="relu"):
    """A netx SDNN file written with h5py as slayer does: an SDNN input block (2 values, vThMant 0), a dense
    SigmaDelta block (3 neurons, vThMant 2, biases 1 / -1 / 0) and a dense Sigma output block (1 neuron)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("layer/0/type", (1,), "S10", [b"input"])
        f.create_dataset("layer/0/shape", data=np.array([2]))
        for i, w in enumerate([np.array([[40, -20], [10, 30], [5, 5]]), np.array([[8, -4, 2]])], start=1):
            g = f.create_group(f"layer/{i}")
            g.create_dataset("type", (1,), "S10", [b"dense"])
            g.create_dataset("shape", data=np.array([w.shape[0]]))
            g.create_dataset("weight", data=w.astype(np.float32))
            if i == 1:
                g.create_dataset("bias", data=np.array([1, -1, 0], np.float32))
        for i in range(3):
            ng = f.create_group(f"layer/{i}/neuron")
            ng.create_dataset("type", data="SDNN", dtype=h5py.string_dtype())
            ng.create_dataset("activation", data=activation, dtype=h5py.string_dtype())
            ng.create_dataset("vThMant", data=[0, 2, 1][i])
        f["layer/2/neuron"].create_dataset("sigma_output", data=True)
    return path


def sdnn_network(seed=0):
    """A fresh sigma-delta LoihiNetwork (no file behind it): an input Delta on a (1, 6, 6) map (vThMant 1), a 3x3
    stride-2 conv SigmaDelta block (4 channels, vThMant 2, per-channel biases), a dense SigmaDelta block (36 -> 5,
    vThMant 1, biases) and a dense Sigma output (5 -> 2)."""
    from hw_targets.loihi2 import ConvGeometry, InputLayer, LoihiLayer, LoihiNetwork, SigmaDeltaNeuron

    rng = np.random.default_rng(seed)
    sd = SigmaDeltaNeuron
    conv = LoihiLayer(rng.integers(-40, 60, (4, 1, 3, 3)), 4096, 0, 0, bias=np.array([2, -1, 0, 1]),
                      conv=ConvGeometry((1, 6, 6), stride=(2, 2), padding=(1, 1)), sdnn=sd("sigma_delta", 2))
    dense = LoihiLayer(rng.integers(-30, 50, (5, 36)), 4096, 0, 0, bias=rng.integers(-2, 3, 5),
                       sdnn=sd("sigma_delta", 1))
    out = LoihiLayer(rng.integers(-60, 60, (2, 5)), 4096, 0, 0, sdnn=sd("sigma"))
    return LoihiNetwork(36, [conv, dense, out], input_layer=InputLayer((1, 6, 6), 4096, 0, 0, sdnn=sd("delta", 1)))
