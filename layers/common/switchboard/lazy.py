"""Deferred imports for Lambda handler modules.

A handler module's import is the function's cold start. Modules that only requests need
(the domain, pydantic models, boto3) load on first attribute access instead, so the init
phase stays as small as a bare resolver. `make bench` reports both the import and the
first-response figures, so nothing is hidden.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """`name`'s module object; its code runs when an attribute is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
