"""Sphinx configuration of the reference documentation, generated from the docstrings.

Build with ``make docs`` (HTML in ``docs/_build/html``); ``tests/test_reference_docs.py``
builds it with warnings as errors. Nothing is fetched: intersphinx is off and every page
comes from the importable package.

Three small additions to autodoc live here:

- ``.. public-api:: insertion_planner`` writes the table of a package's ``__all__``,
  grouped by the module that documents each name, so the table never falls behind;
- a reference to a re-exported name (``insertion_planner.plan_insertions``) resolves to the
  one entry of that object (``insertion_planner.pipeline.plan_insertions``);
- a constant re-exported by a package (``.. autodata:: insertion_planner.robot.PHASES``)
  takes the docstring written where it is defined (``insertion_planner.robot.cycle``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from typing import Any, ClassVar

from docutils import nodes
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective

import insertion_planner

project = "insertion_planner"
author = "insertion_planner contributors"
copyright = "insertion_planner contributors"
release = insertion_planner.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.extlinks",
    "numpydoc",
]

# ``:DOI:`10.1109/34.121791``` in a References section, as scikit-image cites papers.
extlinks = {"doi": ("https://doi.org/%s", "doi:%s")}

root_doc = "index"
exclude_patterns: list[str] = []
templates_path: list[str] = []

# Members in the order of each module's ``__all__``. Types, with shapes and units, are in
# the numpydoc sections; hints in the signatures would repeat them (and numpy's ArrayLike
# unfolds into a long union), so signatures show names and defaults as written.
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_preserve_defaults = True
autosummary_generate = False

# Methods and properties are documented by autodoc (``:members:``); numpydoc's own member
# tables would list them a second time.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False

html_theme = "alabaster"
html_theme_options = {"page_width": "1180px", "sidebar_width": "300px"}
html_title = f"insertion_planner {release} reference"
html_static_path: list[str] = []
html_show_sourcelink = False

_MISSING = object()
_PACKAGE = "insertion_planner"


def _lookup(dotted: str) -> Any:
    """The object named ``dotted``, or ``_MISSING``; an attribute wins over a submodule of
    the same name (``insertion_planner.robot.simulate`` is the function, as an import gives).
    """
    parts = dotted.split(".")
    try:
        obj: Any = importlib.import_module(parts[0])
    except ImportError:
        return _MISSING
    for i, attr in enumerate(parts[1:], start=2):
        if hasattr(obj, attr):
            obj = getattr(obj, attr)
            continue
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            return _MISSING
    return obj


def _package_modules() -> Iterator[tuple[str, Any]]:
    for name, module in sorted(sys.modules.items()):
        if module is not None and (name == _PACKAGE or name.startswith(_PACKAGE + ".")):
            yield name, module


def _constant_home(name: str, value: Any) -> tuple[str, list[str]] | None:
    """The module that defines the constant ``name`` bound to ``value`` (the one with a
    docstring for it), and that docstring's lines; None if no module documents it."""
    for modname, module in _package_modules():
        if getattr(module, name, _MISSING) is not value:
            continue
        try:
            attr_docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except PycodeError:
            continue
        if ("", name) in attr_docs:
            return modname, list(attr_docs["", name])
    return None


# --- re-exported constants ---------------------------------------------------------------


def _constant_docstring(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Give a re-exported constant its docstring from the module that defines it (autodoc
    reads docstrings of data only in the module named in the directive, and otherwise shows
    the docstring of the value's type, such as ``tuple``)."""
    if what != "data" or not name.startswith(_PACKAGE + "."):
        return
    type_doc = " ".join((type(obj).__doc__ or "").split())
    if lines and " ".join(" ".join(lines).split()) != type_doc:
        return
    home = _constant_home(name.rsplit(".", 1)[-1], obj)
    lines[:] = home[1] if home else []


# --- references to re-exported names -----------------------------------------------------

_documented: dict[int, list[str]] | None = None


def _resolve_alias(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve ``insertion_planner.X`` to the documented entry of the same object."""
    global _documented
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith(_PACKAGE + "."):
        return None
    obj = _lookup(target)
    if obj is _MISSING:
        return None
    domain = env.get_domain("py")
    if _documented is None:
        _documented = {}
        for name, *_ in domain.get_objects():
            found = _lookup(name)
            if found is not _MISSING:
                _documented.setdefault(id(found), []).append(name)
    last = target.rsplit(".", 1)[-1]
    for name in _documented.get(id(obj), []):
        # A number or a string equal by chance is not the same public object.
        if isinstance(obj, int | float | str) and name.rsplit(".", 1)[-1] != last:
            continue
        return domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], name, node, contnode
        )
    return None


def _forget_documented(app: Any, env: Any, docnames: Any) -> None:
    global _documented
    _documented = None


# --- the table of a package's public names -----------------------------------------------


def _home_module(name: str, obj: Any) -> str:
    """The subpackage or module of the package whose page documents ``obj``
    (``insertion_planner.segmentation`` for ``segment_vessels``)."""
    modname = getattr(obj, "__module__", None) if callable(obj) else None
    if not isinstance(modname, str):
        home = _constant_home(name, obj)
        modname = home[0] if home else _PACKAGE
    return ".".join(modname.split(".")[:2])


class PublicAPI(SphinxDirective):
    """``.. public-api:: PACKAGE``: an autosummary table of ``PACKAGE.__all__`` (less its
    dunder names) per home module, in the order of ``__all__``."""

    required_arguments = 1
    has_content = False
    option_spec: ClassVar[dict[str, Any]] = {}

    def run(self) -> list[nodes.Node]:
        package = importlib.import_module(self.arguments[0])
        groups: dict[str, list[str]] = {}
        for name in package.__all__:
            if name.startswith("__"):
                continue  # ``__version__`` and the like are documented on the page itself
            home = _home_module(name, getattr(package, name))
            groups.setdefault(home, []).append(name)
        text = [f".. currentmodule:: {package.__name__}", ""]
        for home, names in groups.items():
            text += [f".. rubric:: :mod:`{home}`", "", ".. autosummary::", ""]
            text += [f"   {name}" for name in names]
            text += [""]
        return list(self.parse_text_to_nodes("\n".join(text)))


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("public-api", PublicAPI)
    # Before numpydoc (priority 500) turns the docstring into reST.
    app.connect("autodoc-process-docstring", _constant_docstring, priority=400)
    app.connect("env-before-read-docs", _forget_documented)
    app.connect("missing-reference", _resolve_alias)
    return {"parallel_read_safe": True}
