r"""Measures as functions of sums over samples, and the array primitives they share.

PLV, coherence and imaginary coherence depend on the samples only through sums over them
(cross sums :math:`S_{ab} = \sum x_a \bar x_b` and summed powers), so a value over any set
of samples is a function of those sums: :func:`~hyperinsync.sync.measures.compute_measure`
ends here, and so does the window engine of In-Sync Levels 1 and 2, which adds block sums
into window sums. ``FROM_SUMS`` names these measures. Everything is written once against
the array namespace of its inputs (NumPy or CuPy).
"""

from __future__ import annotations

from ..backend import scratch as _work  # scratch arrays of chunked loops (engine, sums)


def _xp(a):
    """Return the array namespace of ``a`` (NumPy or CuPy) without importing CuPy here."""
    mod = type(a).__module__.split(".")[0]
    if mod == "cupy":
        import sys

        return sys.modules["cupy"]
    import numpy

    return numpy


def unit(x):
    """Return unit phasors ``x / |x|`` (0 where ``x`` is exactly 0, never NaN)."""
    xp = _xp(x)
    mag = xp.abs(x)
    mag[mag == 0] = 1
    # times a real reciprocal: a complex / real division runs as a complex division
    # (measured 2x slower), and the rounding differs by at most an ulp
    return x * xp.reciprocal(mag, out=mag)


def _outer_sqrt(pa, pb, work=None):
    """``sqrt(pa_i * pb_j)`` for every pair, with zeros replaced by 1 to avoid 0/0.

    ``work``: scratch arrays (:func:`~hyperinsync.backend.scratch`) to compute in.
    """
    import numpy

    xp = _xp(pa)
    a, b = pa[..., :, None], pb[..., None, :]
    den = _work(
        work,
        "den",
        numpy.broadcast_shapes(a.shape, b.shape),
        numpy.result_type(pa.dtype, pb.dtype),
        xp,
    )
    xp.sqrt(xp.multiply(a, b, out=den), out=den)
    den[den == 0] = 1
    return den


def power(x):
    """Per-sample power ``|x|^2`` of analytic signals (the normalisation of coh and imcoh)."""
    return abs(x) ** 2


def _real_out(cross, dtype, work):
    """Return a scratch array for a measure of ``cross`` (``work=None``: a new one)."""
    return _work(work, "value", cross.shape, dtype, _xp(cross))


def plv_from_sums(cross, n, work=None):
    r"""PLV from the cross sum of unit phasors over ``n`` samples: :math:`|S| / n`.

    ``cross`` is :math:`S_{ab} = \sum u_a \bar u_b` (or its conjugate: the value is the
    same). :func:`plv` and the window engine of :mod:`hyperinsync.insync` (window sums of
    block cross sums) both end here. ``work``: scratch arrays to compute in (the result is
    then one of them, valid until their next use; :func:`~hyperinsync.backend.scratch`).
    """
    xp = _xp(cross)
    out = xp.abs(cross, out=_real_out(cross, cross.real.dtype, work))
    out /= n
    return out


def coh_from_sums(cross, pa, pb, work=None):
    r"""Coherence from sums over samples: :math:`|S_{ab}| / \sqrt{P_a P_b}`.

    ``cross`` (..., n_a, n_b) is :math:`S_{ab} = \sum x_a \bar x_b`; ``pa`` (..., n_a) and
    ``pb`` (..., n_b) are the summed :func:`power` of each signal. ``work``: as in
    :func:`plv_from_sums`.
    """
    xp = _xp(cross)
    den = _outer_sqrt(pa, pb, work)
    out = _real_out(cross, xp.result_type(cross.real.dtype, den.dtype), work)
    xp.abs(cross, out=out)
    out /= den
    return out


def imcoh_from_sums(cross, pa, pb, signed=False, work=None):
    r"""Imaginary coherence from sums: :math:`\mathrm{Im}(S_{ab}) / \sqrt{P_a P_b}`.

    Its absolute value unless ``signed`` (then ``cross`` must be :math:`S_{ab}`, not its
    conjugate: a positive value means ``a`` leads ``b`` in phase). ``work``: as in
    :func:`plv_from_sums`.
    """
    xp = _xp(cross)
    den = _outer_sqrt(pa, pb, work)
    out = _real_out(cross, xp.result_type(cross.real.dtype, den.dtype), work)
    xp.divide(cross.imag, den, out=out)
    return out if signed else xp.abs(out, out=out)


# The measures that are functions of sums over samples (window sums need nothing else):
# name -> (whether the sums are of unit phasors, the value from the sums; ``work``: scratch
# arrays to compute in, see plv_from_sums)
FROM_SUMS = {
    "plv": (True, lambda cross, n, pa, pb, work=None: plv_from_sums(cross, n, work)),
    "coh": (False, lambda cross, n, pa, pb, work=None: coh_from_sums(cross, pa, pb, work)),
    "imcoh": (False, lambda cross, n, pa, pb, work=None: imcoh_from_sums(cross, pa, pb, work=work)),
}


def value_from_sums(name, cross, n, pa, pb, signed=False, work=None):
    """Compute a ``FROM_SUMS`` measure from its sums over ``n`` samples.

    Parameters
    ----------
    name : str
        A key of ``FROM_SUMS``.
    cross : array, shape (..., n_a, n_b)
        The cross sums :math:`S_{ab}` (of unit phasors for PLV); their conjugate serves
        every measure but signed ``imcoh``.
    n : int
        Samples summed.
    pa, pb : array, shape (..., n_a) and (..., n_b) | None
        Summed :func:`power` of each signal (coh, imcoh).
    signed : bool
        ``imcoh`` keeps its sign (``FROM_SUMS`` holds its absolute value).
    work : dict | None
        Scratch arrays to compute in (:func:`~hyperinsync.backend.scratch`); the result is
        then one of them, valid until their next use. ``None``: a new array.

    Returns
    -------
    values : array, shape (..., n_a, n_b)
    """
    if name == "imcoh" and signed:
        return imcoh_from_sums(cross, pa, pb, signed=True, work=work)
    return FROM_SUMS[name][1](cross, n, pa, pb, work)
