"""Modules that moved, under their old names, for what older versions wrote to disk.

Every index pickles its schema, analysers included, and pickles name classes
by module. Indexes built by searchsvc 0.1 name ``searchsvc.schema`` and
``searchsvc.analysis``, which became :mod:`searchsvc.text.schema` and
:mod:`searchsvc.text.analysis` when the package was split into layers.
:func:`install` (run by the package root, so before any unpickling can ask)
makes the old names import the modules of now: the same module objects, so
the classes are the same classes and compare equal.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

#: Old module name → where it lives now.
MOVED = {
    "searchsvc.schema": "searchsvc.text.schema",
    "searchsvc.analysis": "searchsvc.text.analysis",
}


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old name as the module it became (never a second copy)."""

    def find_spec(self, fullname: str, path=None, target=None) -> ModuleSpec | None:
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        spec.loader_state = module.__spec__  # the import system overwrites it; exec_module puts it back
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    """Add the finder to ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
