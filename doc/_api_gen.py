"""Write the API reference listing from the package itself.

Nothing here names an estimator or a function: the listing is every name that a public module of
skspectral exports in ``__all__``, plus every estimator that
:func:`skspectral.utils.all_estimators` finds, grouped by the public module users import it from.
A new module or estimator appears in the API reference by existing.

``doc/conf.py`` calls :func:`write_api_listing` at the start of each build; ``tests/test_docs.py``
calls :func:`api_listing` directly.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType

PACKAGE = "skspectral"

# (key, rubric) in the order the groups are shown within a module. The stub page of each object
# is written from the autosummary template of its type (doc/_templates/autosummary/<type>.rst).
GROUPS = (
    ("estimator", "Estimators"),
    ("class", "Classes"),
    ("function", "Functions"),
    ("data", "Other objects"),
)


def _is_public(name: str) -> bool:
    parts = name.split(".")
    return not any(p.startswith("_") for p in parts[1:]) and "tests" not in parts


def public_modules(package: str = PACKAGE) -> list[str]:
    """Names of the public modules of ``package`` that declare ``__all__``, sorted.

    Public means no component of the dotted name starts with an underscore. Every public module
    is imported, so an import error surfaces here rather than as a silently missing section.
    """
    pkg = importlib.import_module(package)
    names = {package}
    # walk_packages ignores import errors of subpackages; importing each name below re-raises them
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        if _is_public(info.name):
            names.add(info.name)
    found = []
    for name in sorted(names):
        module = importlib.import_module(name)
        if name != package and isinstance(getattr(module, "__all__", None), (list, tuple)):
            found.append(name)
    return found


def _kind(obj, estimator_classes: set) -> str | None:
    if isinstance(obj, ModuleType):
        return None
    if inspect.isclass(obj):
        return "estimator" if obj in estimator_classes else "class"
    if callable(obj):
        return "function"
    return "data"


def _public_home(module_name: str) -> str:
    """The public module a private module's objects are imported from."""
    parts = module_name.split(".")
    keep = []
    for p in parts:
        if p.startswith("_"):
            break
        keep.append(p)
    return ".".join(keep)


def collect_api(package: str = PACKAGE) -> dict[str, dict[str, list[str]]]:
    """``{module: {kind: [names]}}`` for every public module, each object listed once.

    An object exported by several modules is listed under the one with the shortest dotted name
    (the one users are told to import from). Estimators found by ``all_estimators`` but missing
    from every ``__all__`` are listed under the public part of their defining module.
    """
    from skspectral.utils import all_estimators

    estimators = dict(all_estimators())
    estimator_classes = set(estimators.values())
    modules = sorted(public_modules(package), key=lambda m: (m.count("."), m))
    seen: dict[int, str] = {}
    api: dict[str, dict[str, list[str]]] = {}
    for modname in modules:
        module = importlib.import_module(modname)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            obj = getattr(module, name)
            kind = _kind(obj, estimator_classes)
            if kind is None or id(obj) in seen:
                continue
            seen[id(obj)] = modname
            api.setdefault(modname, {}).setdefault(kind, []).append(name)
    for name, cls in estimators.items():
        if id(cls) not in seen:
            home = _public_home(cls.__module__)
            seen[id(cls)] = home
            api.setdefault(home, {}).setdefault("estimator", []).append(name)
    for groups in api.values():
        for names in groups.values():
            names.sort()
    return dict(sorted(api.items(), key=lambda item: _section_order(item[0])))


def _section_order(modname: str):
    """The transforms first, the estimator modules next, data sets and utilities last."""
    last = {f"{PACKAGE}.datasets": 2, f"{PACKAGE}.utils": 3}
    return (0 if modname == f"{PACKAGE}.fft" else last.get(modname, 1), modname)


def api_listing(package: str = PACKAGE) -> str:
    """The reStructuredText of the API listing (to be included by ``doc/api.rst``)."""
    lines = [
        ".. This file is written by doc/_api_gen.py at the start of every build; do not edit.",
        "",
    ]
    for modname, groups in collect_api(package).items():
        title = f":mod:`{modname}`"
        lines += [title, "-" * len(title), ""]
        lines += [f".. automodule:: {modname}", "   :no-members:", "   :no-inherited-members:", ""]
        lines += [f".. currentmodule:: {modname}", ""]
        for key, rubric in GROUPS:
            names = groups.get(key)
            if not names:
                continue
            lines += [f".. rubric:: {rubric}", ""]
            lines += [
                ".. autosummary::",
                "   :toctree: generated/",
                "   :nosignatures:",
                "",
            ]
            lines += [f"   {name}" for name in names]
            lines += [""]
    return "\n".join(lines)


def write_api_listing(path, package: str = PACKAGE) -> Path:
    """Write :func:`api_listing` to ``path`` if its content changed; return the path."""
    path = Path(path)
    text = api_listing(package)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path
