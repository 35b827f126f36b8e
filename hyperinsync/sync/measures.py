"""Synchrony measures between two sets of analytic signals, written once against ``xp``.

Every measure takes two complex arrays ``xa`` of shape ``(..., n_a, S)`` and ``xb`` of shape
``(..., n_b, S)`` whose last axis holds the *samples* being averaged, and returns a real array
``(..., n_a, n_b)`` for every pair. Which samples are averaged is the *convention*, chosen by
:func:`samples_last`:

- ``'within'`` (hyperscanning / HyPyP): the time points of one epoch; one value per epoch.
- ``'across'`` (Lachaux's trial PLV; mne-connectivity's ``spectral_connectivity_epochs``): the
  epochs at one time point; one value per time point.

Bilinear parts are batched matrix products (all channel pairs of a batch at once). Adding a
measure is one function and one entry in :data:`MEASURES` (and, when it is a function of
sums over samples, one in ``FROM_SUMS`` of ``hyperinsync.sync.sums``, which the window
engine of In-Sync Levels 1 and 2 then uses as well).
"""

from __future__ import annotations

from .._docs import fill_doc
from .._utils import _check_option
from ..backend import scratch as _work  # scratch arrays of the chunked loops (engine, sums)
from .sums import (
    FROM_SUMS,
    _outer_sqrt,
    _xp,
    coh_from_sums,
    imcoh_from_sums,
    plv_from_sums,
    power,
    unit,
    value_from_sums,
)

CONVENTIONS = ("within", "across")


def samples_last(x, convention):
    """Put the averaged axis last.

    Parameters
    ----------
    x : array, shape (n_epochs, n_freqs, n_signals, n_times)
        Analytic signals.
    convention : 'within' | 'across'
        ``'within'`` averages over time (returns ``x``); ``'across'`` over epochs (returns
        a C-contiguous copy of shape ``(n_freqs, n_times, n_signals, n_epochs)``: on a
        transposed view, the per-time-point products would not run as BLAS matrix products
        and the unit phasors would stride through memory).

    Returns
    -------
    x : array
        The signals with the averaged axis last.

    Examples
    --------
    >>> from hyperinsync.sync.measures import samples_last
    >>> x = np.zeros((4, 1, 3, 500), complex)    # epochs, frequencies, signals, times
    >>> samples_last(x, "within").shape, samples_last(x, "across").shape
    ((4, 1, 3, 500), (1, 500, 3, 4))
    """
    _check_option("convention", convention, CONVENTIONS)
    if convention == "within":
        return x
    return _xp(x).ascontiguousarray(x.transpose(1, 3, 2, 0))


def _cross(xa, xb):
    """Sum over samples of ``xa * conj(xb)`` for every pair: ``xa @ xb^H``."""
    xp = _xp(xa)
    if xb.shape[-2] > xa.shape[-2]:
        # conjugate the smaller operand: conj() copies, and B can be all pairings at once
        return xp.matmul(xb, xa.conj().swapaxes(-1, -2)).conj().swapaxes(-1, -2)
    return xp.matmul(xa, xb.conj().swapaxes(-1, -2))


@fill_doc
def plv(xa, xb):
    r"""Phase-locking value.

    :math:`PLV = |\langle u_a \bar u_b \rangle|` with unit phasors :math:`u = x / |x|` and
    :math:`\langle\cdot\rangle` the mean over the convention's samples (HyPyP's ``plv``;
    mne-connectivity's ``plv`` across epochs).

    %(measure_parameters_section)s

    %(measure_returns_section)s

    Examples
    --------
    >>> from hyperinsync.sync.measures import plv
    %(example_phases)s
    >>> plv(xa, xb).round(3), plv(xa, xc).round(3)      # one value per pair: shape (1, 1)
    (array([[1.]]), array([[0.031]]))
    """
    return plv_from_sums(_cross(unit(xa), unit(xb)), xa.shape[-1])


@fill_doc
def coh(xa, xb):
    r"""Coherence (magnitude, not squared).

    :math:`|S_{ab}| / \sqrt{S_{aa} S_{bb}}` with :math:`S_{ab} = \langle x_a \bar x_b\rangle`,
    :math:`S_{aa} = \langle |x_a|^2\rangle` (HyPyP's ``coh``; mne-connectivity's ``coh``).

    %(measure_parameters_section)s

    %(measure_returns_section)s

    Examples
    --------
    >>> from hyperinsync.sync.measures import coh
    %(example_phases)s
    >>> envelope = 1 + 0.5 * np.sin(np.linspace(0, 20, 2000))   # amplitude weights the phases
    >>> coh(xa * envelope, xb * envelope).round(3), coh(xa * envelope, xc).round(3)
    (array([[1.]]), array([[0.031]]))
    """
    xp = _xp(xa)
    return coh_from_sums(_cross(xa, xb), xp.sum(power(xa), axis=-1), xp.sum(power(xb), axis=-1))


@fill_doc
def imcoh(xa, xb, signed=False):
    r"""Imaginary coherence.

    :math:`\mathrm{Im}(S_{ab}) / \sqrt{S_{aa} S_{bb}}`; its absolute value unless ``signed``
    (HyPyP's ``imaginary_coh`` is the absolute value; mne-connectivity's ``imcoh`` is signed).
    A positive signed value means ``a`` leads ``b`` in phase.

    %(measure_parameters_section)s
    %(measure_signed)s
        Positive: ``a`` leads ``b`` in phase.

    %(measure_returns_section)s

    Examples
    --------
    >>> from hyperinsync.sync.measures import imcoh
    %(example_phases)s
    >>> imcoh(xa, xb, signed=True).round(3)    # sin(0.5): a leads b by 0.5 rad
    array([[0.479]])
    >>> imcoh(xa, xa).round(3)                 # zero lag: blind to it (volume conduction)
    array([[0.]])
    """
    xp = _xp(xa)
    return imcoh_from_sums(
        _cross(xa, xb), xp.sum(power(xa), axis=-1), xp.sum(power(xb), axis=-1), signed=signed
    )


@fill_doc
def wpli(xa, xb, chunk=64):
    r"""Weighted phase-lag index (Vinck et al., 2011).

    :math:`|\langle \mathrm{Im}(x_a \bar x_b)\rangle| / \langle |\mathrm{Im}(x_a \bar x_b)|
    \rangle` (0 where the denominator is 0), as HyPyP's ``wpli`` within epochs and
    mne-connectivity's ``wpli`` across epochs. The denominator is not bilinear, so it is
    computed pair by pair over chunks of ``chunk`` channels of ``a``.

    %(measure_parameters_section)s
    chunk : int
        Channels of ``a`` per chunk of the denominator (bounds its memory).

    %(measure_returns_section)s

    Examples
    --------
    >>> from hyperinsync.sync.measures import wpli
    %(example_phases)s
    >>> wpli(xa, xb).round(3), wpli(xa, xa).round(3)   # a consistent lag; zero lag gives 0
    (array([[1.]]), array([[0.]]))
    """
    xp = _xp(xa)
    num = abs(_cross(xa, xb).imag)
    den = xp.empty(num.shape, dtype=num.dtype)
    xbc = xb.conj()[..., None, :, :]
    for i in range(0, xa.shape[-2], chunk):
        prod = xa[..., i : i + chunk, None, :] * xbc
        den[..., i : i + chunk, :] = xp.sum(abs(prod.imag), axis=-1)
    return num / xp.where(den == 0, 1, den)


@fill_doc
def ccorr(xa, xb, signed=False):
    r"""Circular correlation of the phases (absolute value unless ``signed``).

    :math:`|\sum s_a s_b| / \sqrt{\sum s_a^2 \sum s_b^2}` with
    :math:`s = \sin(\phi - \bar\phi)` and :math:`\bar\phi` the circular mean phase
    (HyPyP's ``ccorr`` is the absolute value; Jammalamadaka & SenGupta's circular
    correlation coefficient keeps the sign). A negative signed value means the two phases
    deviate from their mean directions in opposite senses.

    %(measure_parameters_section)s
    %(measure_signed)s

    %(measure_returns_section)s

    Examples
    --------
    >>> from hyperinsync.sync.measures import ccorr
    %(example_phases)s
    >>> ccorr(xa, xb).round(3), ccorr(xa, xc).round(3)
    (array([[1.]]), array([[0.012]]))
    """
    xp = _xp(xa)
    sa, sb = _centred_sine(xa), _centred_sine(xb)
    num = xp.matmul(sa, sb.swapaxes(-1, -2))
    den = _outer_sqrt(xp.sum(sa**2, axis=-1), xp.sum(sb**2, axis=-1))
    return num / den if signed else abs(num) / den


def _centred_sine(x):
    xp = _xp(x)
    phi = xp.angle(x)
    mean_dir = xp.angle(xp.sum(unit(x), axis=-1, keepdims=True))
    return xp.sin(phi - mean_dir)


@fill_doc
def envcorr(xa, xb):
    r"""Amplitude-envelope correlation: Pearson :math:`r` of :math:`|x_a|` and :math:`|x_b|`.

    Signed, as HyPyP's ``envelope_corr``.

    %(measure_parameters_section)s

    %(measure_returns_section)s

    Examples
    --------
    >>> from hyperinsync.sync.measures import envcorr
    >>> rng = np.random.default_rng(0)
    >>> shared = 1 + rng.random(1000)                         # a common amplitude envelope
    >>> xa = (shared * np.exp(1j * rng.uniform(-np.pi, np.pi, 1000)))[None]
    >>> xb = (shared * np.exp(1j * rng.uniform(-np.pi, np.pi, 1000)))[None]
    >>> envcorr(xa, xb).round(3)             # the phases are unrelated: only amplitudes count
    array([[1.]])
    """
    xp = _xp(xa)
    ea = abs(xa)
    eb = abs(xb)
    ea = ea - ea.mean(axis=-1, keepdims=True)
    eb = eb - eb.mean(axis=-1, keepdims=True)
    num = xp.matmul(ea, eb.swapaxes(-1, -2))
    return num / _outer_sqrt(xp.sum(ea**2, axis=-1), xp.sum(eb**2, axis=-1))


# measures whose 'within' values carry a sign, and those that keep it on request (signed=True)
SIGNED = ("envcorr",)
SIGNABLE = ("ccorr", "imcoh")

MEASURES = {
    "plv": plv,
    "coh": coh,
    "imcoh": imcoh,
    "wpli": wpli,
    "ccorr": ccorr,
    "envcorr": envcorr,
}


def phase_relation(phase):
    r"""Name the relation of a mean phase difference (radians).

    ``'in-phase'`` within :math:`\pi/4` of 0, ``'anti-phase'`` within :math:`\pi/4` of
    :math:`\pm\pi`, ``'lagged'`` otherwise (``'n/a'`` for NaN).

    Parameters
    ----------
    phase : float | array
        Phase differences in radians (any range; wrapped to :math:`(-\pi, \pi]`).

    Returns
    -------
    relation : str | ndarray of str
        ``'in-phase'``, ``'anti-phase'``, ``'lagged'`` or ``'n/a'`` per phase.

    Examples
    --------
    >>> from hyperinsync.sync.measures import phase_relation
    >>> phase_relation(np.array([0.1, 3.0, 1.5, np.nan])).tolist()
    ['in-phase', 'anti-phase', 'lagged', 'n/a']
    """
    import numpy as np

    ph = np.abs(np.angle(np.exp(1j * np.asarray(phase, float))))
    out = np.where(
        ph <= np.pi / 4, "in-phase", np.where(ph >= 3 * np.pi / 4, "anti-phase", "lagged")
    )
    out = np.where(np.isnan(ph), "n/a", out)
    return str(out) if out.ndim == 0 else out


def check_measures(measures):
    """Validate measure names; return them as a list (a single name is allowed).

    Parameters
    ----------
    measures : str | list of str
        Keys of :data:`MEASURES`.

    Returns
    -------
    measures : list of str
        The measure names.

    Examples
    --------
    >>> from hyperinsync.sync.measures import check_measures
    >>> check_measures("plv"), check_measures(["plv", "wpli"])
    (['plv'], ['plv', 'wpli'])
    """
    if isinstance(measures, str):
        measures = [measures]
    measures = list(measures)
    if not measures:
        raise ValueError("measures is empty: ask for at least one, e.g. 'plv'.")
    for m in measures:
        _check_option("measure", m, tuple(MEASURES))
    return measures


def is_signed(name, signed=False, convention="within"):
    """Whether a measure's values carry a sign (negative = opposite relation).

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES`.
    signed : bool
        Whether ``ccorr`` and ``imcoh`` keep their sign (see :func:`compute_measure`).
    convention : 'within' | 'across'
        ``imcoh`` across epochs is signed by default (mne-connectivity's convention).

    Returns
    -------
    signed : bool
        True when the values carry a sign.

    Examples
    --------
    >>> from hyperinsync.sync.measures import is_signed
    >>> is_signed("plv"), is_signed("envcorr"), is_signed("imcoh"), is_signed("imcoh", True)
    (False, True, False, True)
    """
    if name in SIGNED:
        return True
    if name in SIGNABLE:
        return bool(signed) or (name == "imcoh" and convention == "across")
    return False


@fill_doc
def compute_measure(name, xa, xb, convention="within", signed=False):
    """Compute one measure for every pair of ``xa`` x ``xb`` under a convention.

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES`.
    xa, xb : array, shape (n_epochs, n_freqs, n_signals, n_times)
        Analytic signals of the two sets (same epochs, freqs and times).
    convention : 'within' | 'across'
        See :func:`samples_last`.
    signed : bool
        Keep the sign of ``ccorr`` and ``imcoh`` (by default ``ccorr`` and, within epochs,
        ``imcoh`` are absolute values as in HyPyP; ``imcoh`` across epochs is signed as in
        mne-connectivity). ``envcorr`` is always signed; other measures are magnitudes.

    Returns
    -------
    values : array
        ``(n_epochs, n_freqs, n_a, n_b)`` for ``'within'``,
        ``(n_freqs, n_times, n_a, n_b)`` for ``'across'``.

    Examples
    --------
    >>> from hyperinsync.sync.measures import compute_measure
    %(example_phases)s
    >>> xa4, xb4 = xa.reshape(4, 1, 1, 500), xb.reshape(4, 1, 1, 500)   # 4 epochs of 500
    >>> compute_measure("plv", xa4, xb4, convention="within").shape    # one value per epoch
    (4, 1, 1, 1)
    >>> compute_measure("plv", xa4, xb4, convention="across").shape    # one per time point
    (1, 500, 1, 1)
    """
    _check_option("measure", name, tuple(MEASURES))
    a = samples_last(xa, convention)
    b = a if xb is xa else samples_last(xb, convention)
    return measure_samples_last(name, a, b, convention, signed)


@fill_doc
def measure_samples_last(name, a, b, convention="within", signed=False):
    """:func:`compute_measure` on signals already put in :func:`samples_last` layout.

    Several measures of the same signals share one layout copy this way (the copy is the
    costly part of ``'across'`` besides the products).

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES`.
    a, b : array, shape (..., n_a, n_samples) and (..., n_b, n_samples)
        ``samples_last(xa, convention)`` and ``samples_last(xb, convention)``.
    convention : 'within' | 'across'
        The convention ``a`` and ``b`` were laid out for (it decides the sign of ``imcoh``).
    signed : bool
        As in :func:`compute_measure`.

    Returns
    -------
    values : array, shape (..., n_a, n_b)
        The measure for every pair of a channel of ``a`` with a channel of ``b``.

    Examples
    --------
    >>> from hyperinsync.sync.measures import (compute_measure, measure_samples_last,
    ...                                        samples_last, sums_measures)
    %(example_phases)s
    >>> x = np.concatenate([xa, xb]).reshape(2, 1, 4, 500).swapaxes(0, 2)  # 4 epochs, 2 signals
    >>> a = samples_last(x, "across")            # one layout copy for every measure
    >>> plv = measure_samples_last("plv", a, a, "across")
    >>> bool(np.allclose(plv, compute_measure("plv", x, x, "across")))
    True
    """
    _check_option("measure", name, tuple(MEASURES))
    if name in SIGNABLE:
        # HyPyP reports |Im| and |ccorr|; mne-connectivity (imcoh across epochs) the sign
        return MEASURES[name](a, b, signed=is_signed(name, signed, convention))
    return MEASURES[name](a, b)


@fill_doc
def sums_measures(names, a, b_conj, convention="across", *, work=None):
    """Compute the measures that are functions of sums (``FROM_SUMS``) in one pass.

    For signals already in :func:`samples_last` layout, with the second set *conjugated*:
    the cross sums are then plain matrix products ``a @ b_conj^T`` (BLAS reads the
    transposed operand in place), so no measure makes a conjugated copy of its own, the
    magnitudes serve both the unit phasors (PLV) and the powers (coh, imcoh), and the
    unit-phasor and raw products are each computed once for all the measures that use them.
    The values are those of :func:`compute_measure` (to rounding).

    Parameters
    ----------
    names : list of str
        Keys of ``FROM_SUMS`` (``plv``, ``coh``, ``imcoh``).
    a : array, shape (..., n_a, n_samples)
        The first set.
    b_conj : array, shape (..., n_b, n_samples)
        The complex conjugate of the second set.
    convention : 'within' | 'across'
        Decides the sign of ``imcoh`` (signed across epochs, as in :func:`is_signed`).
    work : dict | None
        Scratch arrays reused from one call to the next (pass the same empty dict to every
        call of a loop over chunks); ``None``: fresh arrays.

    Returns
    -------
    values : dict
        ``{name: array of shape (..., n_a, n_b)}``.

    Examples
    --------
    >>> from hyperinsync.sync.measures import (compute_measure, measure_samples_last,
    ...                                        samples_last, sums_measures)
    %(example_phases)s
    >>> x = np.concatenate([xa, xb]).reshape(2, 1, 4, 500).swapaxes(0, 2)  # 4 epochs, 2 signals
    >>> a = samples_last(x, "across")
    >>> vals = sums_measures(["plv", "coh"], a, a.conj(), "across")
    >>> bool(np.allclose(vals["plv"], compute_measure("plv", x, x, "across")))
    True
    """
    sums = _cross_sums(names, a, b_conj, work=work)
    return _values_of_sums(names, sums, a.shape[-1], convention)


def _cross_sums(names, a, b_conj, *, work=None):
    """Compute the sums over samples that the ``FROM_SUMS`` measures ``names`` need.

    Computed as in :func:`sums_measures` (whose first half this is): the magnitudes serve
    both the unit phasors and the powers, each kind of product is computed once.

    Parameters
    ----------
    names : list of str
        Keys of ``FROM_SUMS``.
    a, b_conj : array, shape (..., n_a, n_samples) and (..., n_b, n_samples)
        As in :func:`sums_measures`.
    work : dict | None
        Scratch arrays (the sums are then some of them, valid until their next use).

    Returns
    -------
    sums : dict
        ``{True: (cross of unit phasors, None, None), False: (cross, pa, pb)}``, the keys
        the measures need (``FROM_SUMS[name][0]``): cross sums ``(..., n_a, n_b)`` and
        summed powers ``(..., n_a)``, ``(..., n_b)``.
    """
    for m in names:
        _check_option("measure", m, tuple(FROM_SUMS))
    xp = _xp(a)
    wants_unit = {FROM_SUMS[m][0] for m in names}
    real = xp.abs(a[..., :1, :1]).dtype
    mags = [
        xp.abs(x, out=_work(work, f"mag{i}", x.shape, real, xp)) for i, x in enumerate((a, b_conj))
    ]
    shape = a.shape[:-1] + b_conj.shape[-2:-1]

    def products(key, x, y):
        # B = y^T read in place by BLAS (y is C-contiguous)
        return xp.matmul(x, y.swapaxes(-1, -2), out=_work(work, key, shape, a.dtype, xp))

    sums = {}
    if False in wants_unit:  # raw cross sums and powers
        sums[False] = (
            products("cross", a, b_conj),
            *(xp.einsum("...i,...i->...", mag, mag) for mag in mags),
        )
    if True in wants_unit:  # unit phasors x / |x| (0 stays 0), as unit()
        phasors = []
        for i, (x, mag) in enumerate(zip((a, b_conj), mags)):
            mag[mag == 0] = 1
            phasors.append(
                xp.multiply(
                    x,
                    xp.reciprocal(mag, out=mag),
                    out=_work(work, f"unit{i}", x.shape, x.dtype, xp),
                )
            )
        sums[True] = (products("cross_unit", *phasors), None, None)
    return sums


def _values_of_sums(names, sums, n, convention="across"):
    """Compute the ``FROM_SUMS`` measures ``names`` from sums over ``n`` samples.

    Parameters
    ----------
    names : list of str
        Keys of ``FROM_SUMS``.
    sums : dict
        As returned by ``_cross_sums`` (or those sums added over several sets of samples).
    n : int
        Samples summed.
    convention : 'within' | 'across'
        Decides the sign of ``imcoh`` (signed across epochs, as in :func:`is_signed`).

    Returns
    -------
    values : dict
        ``{name: new array of shape (..., n_a, n_b)}``.
    """
    out = {}
    for m in names:
        cross, pa, pb = sums[FROM_SUMS[m][0]]
        # imcoh across epochs is signed (mne-connectivity's convention)
        out[m] = value_from_sums(m, cross, n, pa, pb, is_signed(m, convention=convention))
    return out
