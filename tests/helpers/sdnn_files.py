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
