"""Deprecated names of the public API, kept working (each warns) until they are removed.

Only :mod:`hyperinsync` imports this module: a deprecated alias exists at the top level and
nowhere else, so ``from hyperinsync.stats import *`` never brings in a function that pytest
would collect as a test (``test_sync``).
"""

from __future__ import annotations

from ._utils import warn
from .stats import surrogate_test


def test_sync(
    inst,
    null="epoch_shuffle",
    n_surrogates=1000,
    bands=None,
    measures="plv",
    *,
    rois=None,
    **kwargs,
):
    """Deprecated: use :func:`hyperinsync.surrogate_test` (``bands`` 2nd, the rest by keyword).

    Keeps the old argument order (``null``, ``n_surrogates``, ``bands``, ``measures``) and
    the old default ``rois=None`` (channel pairs), so old code gives the same numbers.

    Parameters
    ----------
    inst, null, n_surrogates, bands, measures, rois, **kwargs
        As :func:`hyperinsync.surrogate_test`.

    Returns
    -------
    result : SurrogateResult
    """
    warn(
        "hyperinsync.test_sync is deprecated and will be removed: use "
        "hyperinsync.surrogate_test(inst, bands, measures, null=..., n_surrogates=...) "
        "(pytest collects functions named test_*).",
        category=FutureWarning,
    )
    return surrogate_test(
        inst, bands, measures, null=null, n_surrogates=n_surrogates, rois=rois, **kwargs
    )
