"""Sphinx configuration of the skspectral documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

The API reference is written from the package at the start of every build (see ``_api_gen.py``);
the gallery runs every ``examples/plot_*.py``. Nothing here reaches the network.
"""

import os
import re
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

DOC = Path(__file__).resolve().parent
sys.path.insert(0, str(DOC))

import _api_gen

import skspectral

# -- project ----------------------------------------------------------------------------------

project = "skspectral"
author = "The skspectral developers"
copyright = "The skspectral developers"
release = skspectral.__version__
version = ".".join(release.split(".")[:2])

# -- extensions -------------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]

# The API listing is an include of api.rst, not a page of its own.
API_LISTING = "_api_listing.rst"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", API_LISTING, "auto_examples/*.ipynb"]

# -- API reference ----------------------------------------------------------------------------

_api_gen.write_api_listing(DOC / API_LISTING)


def _autosummary_sources():
    """Every hand-written page (so stubs are made for their autosummary tables) plus the
    generated API listing, which Sphinx does not scan on its own because it is an include."""
    skip = {"_build", "generated", "auto_examples", "_templates"}
    pages = [
        p.relative_to(DOC).as_posix()
        for p in DOC.rglob("*.rst")
        if not skip.intersection(p.relative_to(DOC).parts) and p.name != API_LISTING
    ]
    return sorted(pages) + [API_LISTING]


autosummary_generate = _autosummary_sources()
autosummary_generate_overwrite = True
autosummary_imported_members = False
autodoc_typehints = "none"
autodoc_member_order = "bysource"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- MyST -------------------------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# -- gallery ----------------------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skspectral",),
    "reference_url": {"skspectral": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

# -- HTML -------------------------------------------------------------------------------------

try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "header_links_before_dropdown": 7,
    }
except ImportError:  # the default theme needs nothing beyond Sphinx
    html_theme = "alabaster"
    html_theme_options = {}

html_title = f"skspectral {release}"
html_static_path = []
html_show_sourcelink = False


# -- docstrings inherited from scikit-learn ---------------------------------------------------

_SKLEARN_LABELED_REF = re.compile(r":ref:`([^`<]+?)\s*<[^`>]+>`")
_SKLEARN_BARE_REF = re.compile(r":ref:`[^`]+`")


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    """Methods inherited from scikit-learn (``set_output``, ``get_metadata_routing``, ...) point
    at labels of scikit-learn's own documentation, which do not exist here: keep their text."""
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        line = _SKLEARN_LABELED_REF.sub(r"\1 (scikit-learn documentation)", line)
        lines[i] = _SKLEARN_BARE_REF.sub("the scikit-learn documentation", line)


def setup(app):
    # before numpydoc reformats the docstring
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs, priority=400)
