"""The shared docstring dictionary: every parameter that recurs in the API, worded once.

Functions write ``%(name)s`` in their docstring and are decorated with :func:`fill_doc`
(below MNE's ``@verbose``). A placeholder without an entry here is an error at import time
(as in MNE's ``fill_doc``), so a docstring cannot silently show ``%(name)s``.

The signal options (``method`` ... ``max_bytes``) are those of
:class:`hyperinsync.sync.DyadSignals`; every analysis that builds on it takes them with the
same names, order and defaults.
"""

from __future__ import annotations

docdict = {}

# -------------------------------------------------------------------------- general
docdict["verbose"] = """verbose : bool | str | int | None
    Control verbosity of the logging output, as in MNE (``None`` uses MNE's level)."""
docdict["n_jobs"] = """n_jobs : int | None
    Number of parallel jobs (``None`` or 1: one job; -1: all cores), as in MNE."""
docdict["seed"] = """seed : None | int | numpy.random.Generator
    Random seed or generator, for reproducible results."""
docdict["roles"] = """roles : tuple of str
    The two participants' role names, e.g. ``('therapist', 'client')``. Default ``('A', 'B')``."""

# -------------------------------------------------------------------------- simulated studies
docdict["study_dyad"] = """dyad : str | int
    Dyad name (e.g. ``'dyad01'``) or index into the study's ``dyads``."""
docdict["study_session"] = """session : int
    Session index (0-based)."""

# -------------------------------------------------------------------------- what to analyse
docdict["bands"] = """bands : dict | None
    Named frequency bands ``{name: (fmin, fmax)}`` in Hz. ``None`` uses
    ``{'theta': (4, 8), 'alpha': (8, 13)}``."""
docdict["rois"] = """rois : str | dict | path-like | None
    Regions of interest: ``'default'`` (the bundled default ROI set, restricted to the
    channels present), the name of another bundled ROI set, a path to an ROI file, or a dict
    ``{roi_name: [channel, ...]}``. ``None``: no ROIs, every channel on its own."""
docdict["measures"] = """measures : str | list of str
    Any of ``'plv'``, ``'coh'``, ``'imcoh'``, ``'wpli'``, ``'ccorr'``, ``'envcorr'``
    (formulas in :mod:`hyperinsync.sync.measures`)."""
docdict["window_measure"] = """measure : 'plv' | 'coh' | 'imcoh'
    Phase-locking value, coherence or :math:`|\\mathrm{Im}|` coherence per window or epoch:
    the formulas of :mod:`hyperinsync.sync.measures` applied to window sums."""
docdict["epoch_duration"] = """epoch_duration : float
    Epoch length in seconds (Raw input: the recording is cut into consecutive epochs of this
    length, those touching ``BAD_`` annotations left out)."""
docdict["picks"] = """picks : list of str | None
    Channel names (role-prefixed, ``'<role>:<channel>'``) to use; ``None``: the good data
    channels (EEG, MEG, sEEG, ECoG, DBS, fNIRS; ``info['bads']`` excluded) of both people."""

# -------------------------------------------------------------------------- signal options
docdict["reject_by_annotation"] = """reject_by_annotation : bool
    Leave out epochs and windows that overlap ``BAD_*`` annotations (of either person: the
    dyad shares one time axis). Their samples are then not used, and NaN or infinite values
    inside them are allowed (bridged by a straight line for the filter only); elsewhere they
    are an error naming the channel and time."""
docdict["method"] = """method : 'fft' | 'mne_fir' | 'morlet'
    How band analytic signals are made (:func:`hyperinsync.sync.band_analytic`): ``'fft'``
    zero-phase band-pass and analytic signal in one frequency-domain step (fast);
    ``'mne_fir'`` MNE's FIR band-pass then Hilbert, HyPyP's ``compute_freq_bands`` exactly
    (slow, the reference); ``'morlet'`` MNE's Morlet wavelets at ``freq_step`` spacing
    within each band, values averaged over them."""
docdict["decim"] = """decim : int | 'auto'
    Keep every ``decim``-th sample of the band analytic signals (exact subsampling of the
    full-rate signal). ``'auto'`` keeps at least 4 samples per cycle of each band's highest
    frequency (with ``method='mne_fir'``: every sample, so that values equal HyPyP's). An
    integer must divide the epoch (window) length and step in samples."""
docdict["n_cycles"] = """n_cycles : float | array-like
    Morlet cycles per frequency (``method='morlet'``)."""
docdict["freq_step"] = """freq_step : float
    Morlet frequency spacing within a band, in Hz (``method='morlet'``)."""
docdict["trans_bandwidth"] = """l_trans_bandwidth, h_trans_bandwidth : float | 'auto'
    Widths in Hz of the lower and upper transition bands of the filter methods
    (``'fft'``, ``'mne_fir'``), as in :func:`mne.filter.filter_data`. ``'auto'`` is MNE's
    default (and HyPyP's): ``min(max(fmin / 4, 2), fmin)`` and
    ``min(max(fmax / 4, 2), sfreq / 2 - fmax)``. The gain is 1/2 (-6 dB) half-way through
    each transition, so with the defaults theta 4-8 Hz passes 3-9 Hz and overlaps alpha
    (8-13 Hz passes 7-14.6 Hz). Narrower transitions separate adjacent bands better at the
    cost of longer filters. The -6 dB band actually analysed is recorded in the result's
    ``params['effective_band']``."""
docdict["precision"] = """precision : 'single' | 'double'
    Band signals in complex64 (``'single'``, default) or complex128 (``'double'``); sums over
    samples accumulate in double precision where the result depends on many of them."""
docdict["backend"] = """backend : 'auto' | 'numpy' | 'cupy' | None
    Array backend. ``'auto'`` (default, also ``None``) uses CuPy when it imports and a GPU is
    present, else NumPy. The environment variable ``HYPERINSYNC_BACKEND`` overrides ``'auto'``."""
docdict["max_bytes"] = """max_bytes : float | 'auto'
    Approximate bound in bytes on the memory of one chunk of work (channel groups read at
    once, spectra, pair products, batches of surrogates); lower it on small machines.
    ``'auto'`` (default): 256 MB with NumPy; on a GPU, an eighth of the device memory free
    when the analysis starts (``cupy.cuda.Device().mem_info`` plus the free blocks of CuPy's
    memory pool), while channel groups read from the recording keep 256 MB. If the GPU
    still runs out of memory, the analysis is run again with chunks 8 times smaller (twice),
    then with NumPy on the CPU, with a warning naming the step that ran out of memory; the
    result's ``params['backend']`` records where it was computed."""

# the band-signal methods of DyadSignals (continuous, epochs, epoch_signals)
docdict["signal_picks"] = """picks : array-like of int
    The channels (indices into the recording)."""
docdict["common_decim"] = """common_decim : bool
    One time grid for all bands (to average across epochs per time point)."""

# -------------------------------------------------------------------------- measures
# The functions of hyperinsync.sync.measures share their input and output. Two entries each:
# the parameter or value alone (``measure_xa_xb``, ``measure_returns``), and the whole section,
# header included (``measure_parameters_section``, ``measure_returns_section``), built from it,
# so that each measure's docstring is written once
docdict["measure_xa_xb"] = """xa, xb : array, shape (..., n_a, n_samples) and (..., n_b, n_samples)
    Complex analytic signals (NumPy or CuPy) of the two sets of channels: the last axis
    holds the samples averaged over (see
    :func:`~hyperinsync.sync.measures.samples_last`), the leading axes match."""
docdict["measure_signed"] = """signed : bool
    Keep the sign; ``False`` (default): the absolute value, as HyPyP."""
docdict["measure_returns"] = """values : array, shape (..., n_a, n_b)
    The measure: one real value per pair of a channel of ``xa`` and one of ``xb``, on their
    device."""
docdict["measure_parameters_section"] = "Parameters\n----------\n" + docdict["measure_xa_xb"]
docdict["measure_returns_section"] = "Returns\n-------\n" + docdict["measure_returns"]

# -------------------------------------------------------------------------- statistics
docdict["n_surrogates"] = """n_surrogates : int
    Number of surrogates (null draws)."""
docdict["alpha"] = """alpha : float
    Significance level of the corrected p-values."""
docdict["n_permutations"] = """n_permutations : int
    Number of random permutations of the test."""
docdict["tail_sync"] = """tail : 'auto' | 'greater' | 'less' | 'two-sided' | dict
    Alternative hypothesis of each test, or ``{measure: tail}``. ``'auto'`` (default):
    ``'two-sided'`` for signed measures (``envcorr``; ``ccorr`` and ``imcoh`` with
    ``signed=True``), whose negative values (anti-phase, anti-correlated) are coupling too,
    and ``'greater'`` (above chance) for magnitudes (PLV, coh, wPLI, HyPyP's absolute ccorr
    and imcoh), which rise with coupling whatever its phase."""
docdict["signed_sync"] = """signed : bool
    Keep the sign of ``ccorr`` and ``imcoh`` in each epoch (the circular correlation
    coefficient; mne-connectivity's imaginary coherency) instead of HyPyP's absolute values
    (default, as :func:`hyperinsync.compute_sync`). Signed, the epoch mean keeps the direction
    (imcoh: positive when the first role leads in phase) and chance sits at 0."""
docdict["n_null_deprecated"] = """n_null : int | None
    Deprecated alias of ``n_surrogates`` (it warns); will be removed."""

# -------------------------------------------------------------------------- lagged synchrony
# (body and autonomic signals: hyperinsync.sync.lagged, hyperinsync.stats.lagged)
docdict["lagged_pairs"] = """pairs : None | str | list of str | dict
    What to correlate. ``None``: every channel name both roles have among the types
    ``gsr``, ``ecg``, ``bio``, ``resp`` and ``misc`` (EEG is never taken), one modality
    per name. A name or list of names: those channels of both roles. A dict
    ``{modality: (channel of the first role, channel of the second)}`` pairs differently
    named channels. A modality missing for one person is an error."""
docdict["lagged_lag"] = """lag : float
    The largest lag in seconds (lags run from ``-lag`` to ``+lag`` in steps of one
    sample). No default, as in rMEA (its example: 5 s)."""
docdict["lagged_window"] = """window : float
    Window (segment) length in seconds (rMEA's example: 60 s; SUSY's default: 30 s)."""
docdict["lagged_step"] = """step : float | None
    Seconds between window starts; ``None``: ``window`` (non-overlapping windows)."""
docdict["lagged_definition"] = """definition : 'wcc' | 'rmea' | 'susy'
    See :mod:`hyperinsync.sync.lagged`. ``'rmea'`` and ``'susy'`` equal those packages to
    floating-point precision where their definitions apply."""
docdict["fisher_z"] = """fisher_z : bool
    Fisher z (atanh, clamped to +/-10) instead of r (rMEA's r2Z)."""
docdict["max_missing"] = """max_missing : float
    Largest fraction of missing samples a window may have, per person (rMEA: 0.5)."""

# -------------------------------------------------------------------------- figures
docdict["viz_axes"] = """axes : matplotlib Axes | None
    Where to draw; ``None``: a new figure."""
docdict["viz_show"] = """show : bool
    Show the figure (never on non-interactive backends such as Agg)."""

# -------------------------------------------------------------------------- shared example set-ups
# The doctest lines several Examples sections start from (tests/test_doctests.py runs them).
docdict["example_phases"] = """>>> rng = np.random.default_rng(0)
>>> phase = np.cumsum(rng.normal(0.6, 0.3, 2000))    # a wandering phase, 2000 samples
>>> xa = np.exp(1j * phase)[None]                    # one analytic signal: shape (1, 2000)
>>> xb = np.exp(1j * (phase - 0.5))[None]            # locked to it, lagging by 0.5 rad
>>> xc = np.exp(1j * rng.uniform(-np.pi, np.pi, 2000))[None]   # not locked"""
docdict["example_mixed_design"] = """>>> import pandas as pd
>>> rng = np.random.default_rng(1)
>>> rows = []
>>> for i in range(12):                       # 12 dyads, 2 groups, 2 segments each
...     group = "mindful" if i < 6 else "non-mindful"
...     dyad_level = rng.normal(0, 0.3)
...     for segment in ("rest_pre", "rest_post"):
...         gain = 0.8 if (group, segment) == ("mindful", "rest_post") else 0.0
...         rows.append(dict(dyad=f"d{i:02d}", group=group, segment=segment,
...                          value=dyad_level + gain + rng.normal(0, 0.3)))
>>> fit = hs.stats.mixed_model(pd.DataFrame(rows), within="segment")"""
docdict["example_eda_dyad"] = """>>> phys, truth = hs.simulate_physio_dyad(
...     duration=300.0, sfreq=8.0, modalities=("eda",), seed=0,
...     couplings=[hs.PhysioCoupling("eda", strength=0.7, lag=2.0)])   # therapist leads by 2 s"""
docdict["example_lagged_series"] = (
    docdict["example_eda_dyad"]
    + """
>>> from hyperinsync.sync.lagged import LagGeometry, lagged_values, read_series
>>> geom = LagGeometry("wcc", 8.0, phys.n_times, window=30, lag=5, step=15)
>>> keep = np.zeros(phys.n_times, bool)          # no sample inside a BAD_ span
>>> a, b = (read_series(phys, name, keep, 0.5) for name in phys.ch_names)"""
)

# the signal options in their one order (DyadSignals and every analysis built on it)
SIGNAL_OPTIONS = (
    "reject_by_annotation",
    "picks",
    "method",
    "decim",
    "n_cycles",
    "freq_step",
    "l_trans_bandwidth",
    "h_trans_bandwidth",
    "precision",
    "backend",
    "n_jobs",
    "max_bytes",
)


class _Filled(dict):
    """The entries, indented for one docstring; a missing key names the function."""

    def __init__(self, entries, func):
        super().__init__(entries)
        self.func = func

    def __missing__(self, key):
        raise RuntimeError(
            f"Error documenting {self.func.__module__}.{self.func.__qualname__}: "
            f"%({key})s has no entry in hyperinsync._docs.docdict. Add it there (once) "
            "or write the parameter out."
        )


def fill_doc(func):
    """Fill ``%(name)s`` placeholders in a docstring from :data:`docdict`.

    Apply it below MNE's ``@verbose`` (``@verbose`` then ``@fill_doc`` on the next line), so
    our placeholders are filled before MNE's own docstring filling runs. A placeholder
    without an entry raises :class:`RuntimeError` (at import time). On a class it also fills
    the docstrings of the methods the class defines that hold a placeholder.

    Parameters
    ----------
    func : callable
        The function or class whose docstring is filled (in place).

    Returns
    -------
    func : callable
        The same object.
    """
    doc = func.__doc__
    if doc:
        lines = doc.splitlines()
        indent = ""
        for line in lines[1:]:
            if line.strip():
                indent = line[: len(line) - len(line.lstrip())]
                break
        filled = {key: val.replace("\n", "\n" + indent) for key, val in docdict.items()}
        func.__doc__ = doc % _Filled(filled, func)
    if isinstance(func, type):
        for method in vars(func).values():
            if callable(method) and "%(" in (getattr(method, "__doc__", None) or ""):
                fill_doc(method)
    return func
