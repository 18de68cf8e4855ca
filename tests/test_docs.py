"""The documentation sources: the generated API listing is complete, the user guide's examples
run, and the gallery scripts are well formed. Sphinx itself is not run here."""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "doc"


@pytest.fixture(scope="module")
def api_gen():
    spec = importlib.util.spec_from_file_location("_skspectral_doc_api_gen", DOC / "_api_gen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def listing(api_gen):
    return api_gen.api_listing()


def _documented(listing: str) -> dict[str, set[str]]:
    """``{module: {names}}`` of the autosummary items of the listing."""
    found: dict[str, set[str]] = {}
    module = None
    in_table = False
    for line in listing.splitlines():
        if line.startswith(".. currentmodule:: "):
            module = line.split("::", 1)[1].strip()
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and re.fullmatch(r"   [A-Za-z_]\w*", line):
            found.setdefault(module, set()).add(line.strip())
        elif in_table and line and not line.startswith("   "):
            in_table = False
    return found


def test_core_modules_are_found(api_gen):
    modules = api_gen.public_modules()
    for name in ("skspectral.fft", "skspectral.datasets", "skspectral.utils"):
        assert name in modules
    assert not any(part.startswith("_") for m in modules for part in m.split(".")[1:])


def test_every_public_name_is_listed(api_gen, listing):
    documented = _documented(listing)
    everything = set().union(*documented.values())
    for modname in api_gen.public_modules():
        module = importlib.import_module(modname)
        for name in module.__all__:
            if name.startswith("__") or inspect.ismodule(getattr(module, name)):
                continue
            assert name in everything, f"{modname}.{name} is missing from the API listing"
    assert documented["skspectral.fft"] >= {"fwht", "fftbr", "ifftbr", "bit_reversal_permutation"}
    assert "load_tweet_embeddings" in documented["skspectral.datasets"]
    assert "all_estimators" in documented["skspectral.utils"]


def test_every_estimator_is_listed_once(listing):
    from skspectral.utils import all_estimators

    documented = _documented(listing)
    for name, cls in all_estimators():
        homes = [m for m, names in documented.items() if name in names]
        assert len(homes) == 1, f"{name} is listed under {homes}"
        # the listed name resolves to the estimator itself
        assert getattr(importlib.import_module(homes[0]), name) is cls


def test_listing_is_autosummary_with_stub_pages(listing):
    assert ".. automodule:: skspectral.fft" in listing
    assert listing.count(".. autosummary::") == listing.count(":toctree: generated/")
    # the stub pages come from the project's templates (methods of estimators included)
    for objtype in ("class", "function"):
        assert (DOC / "_templates" / "autosummary" / f"{objtype}.rst").is_file()


def test_user_guide_examples_run():
    result = doctest.testfile(
        str(DOC / "modules" / "fft.rst"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.attempted > 10
    assert result.failed == 0


EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_gallery_script_has_a_title(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{path.name} needs a module docstring with a title"
    lines = [line for line in docstring.splitlines() if line.strip()]
    title = next(line for line in lines if not set(line.strip()) <= {"=", "-"})
    underline = lines[lines.index(title) + 1]
    assert set(underline.strip()) <= {"=", "-"} and len(underline.strip()) >= len(title.strip())
