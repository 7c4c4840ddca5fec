"""NIR in one place: export (target ``nir``), import (``nk.from_nir``), delays and the shared conventions.

Example::

    >>> cm = nk.compile(net, target="nir", example_input=x); cm.save("net.nir")
    >>> model = nk.from_nir("net.nir")
"""
from .export import NIRArtefact, NIRTarget, graph_to_nir
from .import_ import from_nir
from .silent import NIRConventionWarning

__all__ = ["NIRArtefact", "NIRConventionWarning", "NIRTarget", "from_nir", "graph_to_nir"]
