"""Optional imports of the plotting stack, with a clear message when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]

_PIP_NAMES = {"matplotlib": "matplotlib", "plotly": "plotly", "ipywidgets": "ipywidgets"}


def require(module: str, *, feature: str) -> ModuleType:
    """Import ``module`` or raise an ImportError saying how to install it.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"matplotlib.pyplot"``.
    feature : str
        What needs it, named in the error message.

    Raises
    ------
    ImportError
        When the module is not installed; the message names the optional extra.

    Examples
    --------
    >>> require("json", feature="reading JSON").__name__
    'json'
    >>> require("no_such_module_xyz", feature="the 2-D plan figure")
    Traceback (most recent call last):
    ...
    ImportError: the 2-D plan figure needs the optional package 'no_such_module_xyz': ...
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        pip_name = _PIP_NAMES.get(top, top)
        raise ImportError(
            f"{feature} needs the optional package {pip_name!r}: "
            f"install it with pip install 'insertion_planner[viz]' (or pip install {pip_name})"
        ) from None
