"""One compiled integrator per coefficient pair ``(a, b)`` (and state-dependent finite-d coefficient
``h``, when the system has one), cached on disk.

numba cannot reuse its disk cache for a function that receives other compiled functions as arguments
(the dispatcher types differ from process to process), so the integrators do not take ``a`` and ``b``
as arguments: they call the module globals ``_A``, ``_B`` and ``_H``. For SGD's pair (and no ``h``
function) the package modules themselves are used. For any other combination this module writes a copy
of the integrator module with the ``# specialize:`` lines bound to those functions into the cache directory (``$HDLIMITS_CACHE_DIR`` or
``~/.cache/hdlimits``), imports it, and numba caches its compiled code next to it. The file name is a
hash of the template source and of where ``a`` and ``b`` are defined, so editing either invalidates it.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path

from hdlimits.core import cache as _cache
from hdlimits.solvers import coefficients as coefficients
from hdlimits.solvers import integrate as integrate
from hdlimits.solvers import recursion as recursion

_MEMO: dict = {}


def cache_dir() -> Path:
    """Where the specialised copies are written (``<cache root>/specialized``)."""
    return _cache.cache_dir("specialized")


def _binding(func, alias: str) -> str:
    """Source lines that bind ``alias`` to the compiled function ``func`` in a generated module."""
    py = getattr(func, "py_func", None)
    if py is None:
        raise ValueError(f"coefficient function {func!r} must be numba-compiled (numba.njit)")
    mod, name = py.__module__, py.__name__
    spec = importlib.util.find_spec(mod) if not mod.startswith("_") else None
    if spec is not None and spec.origin and os.path.samefile(spec.origin, inspect.getfile(py)):
        return f"from {mod} import {name} as {alias}\n"
    path = inspect.getfile(py)
    return (f"{alias} = _load_by_path({mod!r}, {path!r}).{name}\n")


_LOADER = '''
import importlib.util as _ilu
import sys as _sys


def _load_by_path(name, path):
    if name not in _sys.modules:
        spec = _ilu.spec_from_file_location(name, path)
        mod = _ilu.module_from_spec(spec)
        _sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return _sys.modules[name]

'''


def _import_file(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _dependencies():
    """Modules whose numba functions the templates call (their edits must invalidate the copies)."""
    from hdlimits.core import schedules
    from hdlimits.solvers import collocation
    return (collocation, schedules)


def specialized(template, a, b, h=None):
    """The module ``template`` (integrate or recursion) compiled for the pair ``(a, b)`` and the
    state-dependent finite-d coefficient ``h(P, c)`` (None: :func:`coefficients.zero`)."""
    if h is None:
        h = coefficients.zero
    if a is coefficients.one and b is coefficients.residual_second_moment and h is coefficients.zero:
        return template
    key = (template.__name__, id(a), id(b), id(h))
    if key in _MEMO:
        return _MEMO[key]
    source = inspect.getsource(template)
    lines = source.splitlines(keepends=True)
    out = []
    for line in lines:
        if line.rstrip().endswith("# specialize: a"):
            out.append(_LOADER + _binding(a, "_A"))
        elif line.rstrip().endswith("# specialize: b"):
            out.append(_binding(b, "_B"))
        elif line.rstrip().endswith("# specialize: h"):
            out.append(_binding(h, "_H"))
        else:
            out.append(line)
    text = "".join(out)
    # numba's disk cache does not see edits of the functions a compiled function calls: hash the
    # sources of the modules the template inlines too, so that editing them gives a new copy
    deps = "".join(inspect.getsource(m) for m in _dependencies())
    digest = hashlib.sha1((text + deps).encode()).hexdigest()[:16]
    short = template.__name__.rsplit(".", 1)[-1]
    name = f"_hdlimits_{short}_{digest}"
    path = cache_dir() / f"{name}.py"
    if not path.exists():
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)
    mod = _import_file(name, path)
    _MEMO[key] = mod
    return mod


def _h_func(system):
    sc = getattr(system, "curvature_state", None)
    return None if sc is None else sc.func


def integrator_for(system):
    return specialized(integrate, system.a, system.b, _h_func(system))


def recursion_for(system):
    return specialized(recursion, system.a, system.b, _h_func(system))
