"""Converters from other frameworks' models to neurokit models (their packages are imported lazily).

Example::

    >>> model = nk.from_snntorch(net)     # neurokit.interop.snntorch.from_snntorch
"""
