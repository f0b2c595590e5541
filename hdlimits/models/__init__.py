"""Model families. Each family is a sub-package that owns its problems, its reductions of optimizers to
limiting equations (theory) and its simulator rules, and registers them in the tables of
:mod:`hdlimits.reductions` and :mod:`hdlimits.sim.registry`:

* :mod:`hdlimits.models.least_squares` — streaming linear regression (docs/sgd.md, docs/clipping.md,
  docs/signsgd.md).
"""
