"""What neurokit writes into, and reads from, a NIR graph beyond the node fields: one vocabulary for both directions.

NIR (Pedersen et al., "Neuromorphic intermediate representation", Nature Communications 15, 8122, 2024;
https://neuroir.org/docs) describes neurons in continuous time and leaves the simulation step to the consumer.
neurokit records its discretization in ``metadata``:

* ``dt``: seconds per step, on the graph and on every neuron / delay node. Default :data:`DEFAULT_DT` (1e-4 s, the
  step snnTorch's NIR export and import hard-code in ``snntorch/export_nir.py`` / ``import_nir.py``).
* ``reset``: ``"zero"`` (NIR's own ``v <- v_reset``) or ``"subtract"``; ``reset_timing``: ``"same_step"`` or
  ``"next_step"`` (snnTorch's deferred reset).
* ``source``: ``"neurokit"`` on graphs neurokit wrote.

Example::

    >>> from hw_targets.nir.conventions import DEFAULT_DT
    >>> DEFAULT_DT
    0.0001
"""
from __future__ import annotations

DEFAULT_DT = 1e-4
SOURCE = "neurokit"
