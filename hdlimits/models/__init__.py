"""Model families. Each family is a sub-package that owns its problems, its reductions of optimizers to
limiting equations (theory) and its simulator rules, and registers them in the tables of
:mod:`hdlimits.reductions` and :mod:`hdlimits.sim.registry`:

* :mod:`hdlimits.models.least_squares` — streaming linear regression (docs/sgd.md, docs/clipping.md,
  docs/signsgd.md).
* :mod:`hdlimits.models.glm` — GLM and multi-index models (docs/glm.md): ``least_squares()``, ``relu()``,
  ``phase_retrieval()``, ``logistic()``, ``multi_index(student=, teacher=, ...)``.

``hd.models.least_squares`` is both the least-squares sub-package and, when called, the GLM model factory
``hd.models.least_squares()`` (the module's class is given a ``__call__``), so imports of the sub-package
keep working.
"""
import sys
import types

import hdlimits.models.least_squares  # noqa: F401  (registers the family)
from hdlimits.models.glm import catalog as _catalog
from hdlimits.models.glm.catalog import logistic, multi_index, phase_retrieval, relu  # noqa: F401


class _CallableFamily(types.ModuleType):
    """The least-squares sub-package, callable as the GLM model factory :func:`~hdlimits.models.glm.
    catalog.least_squares`."""

    def __call__(self):
        return _catalog.least_squares()


sys.modules["hdlimits.models.least_squares"].__class__ = _CallableFamily
