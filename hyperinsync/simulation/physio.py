r"""Simulated body and autonomic signals of a dyad, and studies of them, with known truth.

:func:`simulate_physio_dyad` makes one recording of two people (a
:class:`~hyperinsync.dyad.DyadRaw`, channels ``'<role>:EDA'``, ``'<role>:HR'`` or
``'<role>:ECG'``, ``'<role>:MEA'``) with its :class:`PhysioTruth`;
:func:`simulate_physio_study` describes a multi-session study whose alliance scores depend
on segment synchrony, and generates its recordings lazily.

The model. Every modality of every person is driven by a latent Gaussian process
:math:`u(t)` of unit variance with the modality's time scale (white noise filtered in the
frequency domain to a flat band: EDA 0.01-0.2 Hz, heart rate 0.01-0.15 Hz, movement
0.05-1 Hz). A :class:`PhysioCoupling` of strength :math:`\rho` makes the two people share a
common driver :math:`c(t)` while it is on (envelope :math:`e(t)` = 1 inside its episodes,
with 2-s cosine ramps, 0 outside):

.. math::

    u_A(t) = \sqrt{\rho e(t)}\, c(t) + \sqrt{1 - \rho e(t)}\, v_A(t), \qquad
    u_B(t) = \sqrt{\rho e(t)}\, s\, c(t - \ell) + \sqrt{1 - \rho e(t)}\, v_B(t)

with :math:`v_A, v_B, c` independent, :math:`s = +1` (in-phase) or :math:`-1`
(anti-phase) and :math:`\ell` the lag: **a positive lag means the first role leads** (the
second follows :math:`\ell` seconds later). So :math:`\rho` is the correlation of the two
drivers at lag :math:`\ell` while coupled; the observed signals correlate less (the
transforms below are nonlinear and add independent parts).

From the driver (all per person, parameters drawn per person):

- **EDA** (``gsr``, siemens): tonic level (skin conductance level 2-10 µS plus an
  independent slow drift, below 0.005 Hz, of 0.3 µS SD) plus phasic responses: the
  non-negative drive :math:`\log(1 + e^{2u})` convolved with a skin conductance response
  shape (rise 0.75 s, decay 3 s), scaled to 0.05-0.3 µS SD; white measurement noise of
  0.005 µS.
- **Heart rate** (``misc``, beats per minute): 60-80 bpm plus 4 bpm times the driver, plus
  respiratory sinus arrhythmia (a 0.2-0.3 Hz oscillation of 2 bpm, independent per person).
  With ``heart='ecg'`` the beats are placed by integrating the rate and an ECG (``ecg``,
  volts: a QRS complex and a T wave per beat, 1 mV R peak, 20 µV noise) is given instead;
  the true beat times are in the truth.
- **Movement** (``misc``, motion energy in arbitrary units, as from video): bursty,
  non-negative and heavy-tailed: :math:`\max(0, e^{1.2 u} - 1)` times 100, so about half
  the samples are exactly 0 (still) and bursts have a log-normal tail.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import asdict, dataclass, field

import mne
import numpy as np

from .._docs import fill_doc
from .._utils import _check_option, _validate_type, logger, verbose
from ..dyad import make_dyad_raw, set_dyad_meta
from .design import _jsonable, _seed_int
from .study import SimulatedStudy

MODALITIES = ("eda", "heart", "movement")
CHANNELS = {"eda": "EDA", "heart": "HR", "movement": "MEA"}
DEFAULT_STRENGTH = 0.6
_BANDS = {"eda": (0.01, 0.2), "heart": (0.01, 0.15), "movement": (0.05, 1.0)}
_RAMP = 2.0  # s of cosine ramp at episode edges
_MAX_LAG = 10.0  # s


@dataclass
class PhysioCoupling:
    """A coupling of one modality between the two people.

    Parameters
    ----------
    modality : 'eda' | 'heart' | 'movement'
        Which signals share a driver.
    strength : float
        In ``[0, 1)``: the correlation of the two people's latent drivers at ``lag`` while
        the coupling is on.
    lag : float
        Seconds, at most 10 in magnitude. Positive: the first role leads (the second follows
        ``lag`` seconds later); negative: the second leads.
    phase : 'in' | 'anti'
        ``'in'``: matching (both rise together); ``'anti'``: complementary (one rises as
        the other falls).
    episodes : list of tuple | None
        ``(onset, offset)`` in seconds when the coupling is on; ``None``: the whole
        recording.
    """

    modality: str
    strength: float = DEFAULT_STRENGTH
    lag: float = 0.0
    phase: str = "in"
    episodes: list | None = None


@dataclass
class PhysioTruth:
    """The ground truth of a simulated physiological dyad.

    Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    roles : tuple of str
        The two roles, the first leads at positive lags.
    sfreq : float
        Sampling rate in Hz.
    duration : float
        Length in seconds.
    couplings : list of dict
        The resolved :class:`PhysioCoupling` (``lag`` rounded to whole samples).
    channels : dict
        ``{modality: channel name}`` (without roles).
    beats : dict
        ``{role: beat times in s}`` (heart; empty without it).
    segments : list of tuple
        ``(description, onset, duration)`` of the segment annotations.
    seed : int
        Reproduces the recording.
    extra : dict
        Study fields when made by :func:`simulate_physio_study`.
    """

    roles: tuple
    sfreq: float
    duration: float
    couplings: list
    channels: dict
    beats: dict = field(default_factory=dict)
    segments: list = field(default_factory=list)
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def to_dict(self):
        """Return the truth as a JSON-serialisable dict.

        Returns
        -------
        d : dict
            The fields, arrays as lists.
        """
        d = asdict(self)
        d["beats"] = {k: np.asarray(v).tolist() for k, v in self.beats.items()}
        d["roles"] = list(self.roles)
        return d


# --------------------------------------------------------------------------------------------


def _band_noise(rng, n, sfreq, band):
    """Unit-variance Gaussian noise with a flat spectrum on ``band`` (Hz), zero elsewhere."""
    freqs = np.fft.rfftfreq(n, 1.0 / sfreq)
    keep = (freqs >= band[0]) & (freqs <= band[1])
    if keep.sum() < 2:
        raise ValueError(
            f"{n / sfreq:g} s at {sfreq:g} Hz holds fewer than 2 frequencies in "
            f"{band[0]}-{band[1]} Hz: simulate a longer recording."
        )
    spec = (rng.standard_normal(len(freqs)) + 1j * rng.standard_normal(len(freqs))) * keep
    x = np.fft.irfft(spec, n)
    return x / x.std()


def _envelope(episodes, n, sfreq):
    if episodes is None:
        return np.ones(n)
    t = np.arange(n) / sfreq
    env = np.zeros(n)
    for on, off in episodes:
        ramp = min(_RAMP, (off - on) / 2)
        rise = np.clip((t - on) / ramp, 0, 1) if ramp > 0 else (t >= on).astype(float)
        fall = np.clip((off - t) / ramp, 0, 1) if ramp > 0 else (t < off).astype(float)
        seg = np.minimum(rise, fall)
        env = np.maximum(env, 0.5 - 0.5 * np.cos(np.pi * seg))
    return env


def _check_coupling(c, duration, sfreq):
    _validate_type(c, PhysioCoupling, "coupling")
    _check_option("coupling modality", c.modality, MODALITIES)
    _check_option("coupling phase", c.phase, ("in", "anti"))
    if not 0.0 <= float(c.strength) < 1.0:
        raise ValueError(f"Coupling strength must be in [0, 1), got {c.strength}.")
    if abs(float(c.lag)) > _MAX_LAG:
        raise ValueError(f"Coupling lag must be at most {_MAX_LAG} s, got {c.lag}.")
    eps = None
    if c.episodes is not None:
        eps = []
        for ep in c.episodes:
            on, off = (float(v) for v in ep)
            if not 0 <= on < off <= duration:
                raise ValueError(f"Episode {ep} must satisfy 0 <= onset < offset <= {duration} s.")
            eps.append([on, off])
    lag = round(float(c.lag) * sfreq) / sfreq
    return dict(
        modality=c.modality, strength=float(c.strength), lag=lag, phase=c.phase, episodes=eps
    )


def _drivers(rng, n, sfreq, modality, couplings):
    """Latent drivers (u_A, u_B) of one modality, unit variance."""
    band = _BANDS[modality]
    pad = int(math.ceil(_MAX_LAG * sfreq)) + 1
    va = _band_noise(rng, n, sfreq, band)
    vb = _band_noise(rng, n, sfreq, band)
    ua, ub = va.copy(), vb.copy()
    for c in couplings:
        common = _band_noise(rng, n + 2 * pad, sfreq, band)
        k = int(round(c["lag"] * sfreq))
        ca = common[pad : pad + n]
        cb = common[pad - k : pad - k + n]  # B(t) = c(t - lag)
        w = c["strength"] * _envelope(c["episodes"], n, sfreq)
        sign = 1.0 if c["phase"] == "in" else -1.0
        # the coupled part replaces part of each person's own driver (variance kept at 1)
        ua = np.sqrt(1 - w) * ua + np.sqrt(w) * ca
        ub = np.sqrt(1 - w) * ub + np.sqrt(w) * sign * cb
    return ua, ub


def _scr_kernel(sfreq, rise=0.75, decay=3.0):
    t = np.arange(int(8 * decay * sfreq) + 1) / sfreq
    k = np.exp(-t / decay) - np.exp(-t / rise)
    return k / k.sum()


def _eda(rng, u, sfreq):
    n = len(u)
    drive = np.log1p(np.exp(2.0 * u))
    phasic = np.convolve(drive, _scr_kernel(sfreq))[:n]
    phasic = (phasic - phasic.mean()) / phasic.std() * rng.uniform(0.05, 0.3)
    drift = (
        _band_noise(rng, n, sfreq, (1.0 / (n / sfreq), 0.005)) * 0.3
        if n / sfreq > 400
        else np.zeros(n)
    )
    scl = rng.uniform(2.0, 10.0)
    eda_us = scl + drift + phasic + 0.005 * rng.standard_normal(n)
    return np.maximum(eda_us, 0.1) * 1e-6  # siemens


def _heart_rate(rng, u, sfreq):
    n = len(u)
    t = np.arange(n) / sfreq
    resp = rng.uniform(0.2, 0.3)
    return (
        rng.uniform(60, 80)
        + 4.0 * u
        + 2.0 * np.sin(2 * np.pi * resp * t + rng.uniform(0, 2 * np.pi))
    )


def _beats(hr, sfreq):
    """Beat times (s) from a heart-rate series (bpm): integer crossings of its phase."""
    phase = np.cumsum(hr / 60.0) / sfreq
    k = np.arange(1, int(phase[-1]) + 1)
    return np.interp(k, phase, np.arange(len(hr)) / sfreq)


def _ecg(rng, beats, n, sfreq):
    t = np.arange(n) / sfreq
    ecg = np.zeros(n)
    for b in beats:
        near = slice(max(0, int((b - 0.3) * sfreq)), min(n, int((b + 0.5) * sfreq)))
        tt = t[near] - b
        qrs = (
            np.exp(-0.5 * (tt / 0.012) ** 2)
            - 0.15 * np.exp(-0.5 * ((tt + 0.03) / 0.01) ** 2)
            - 0.2 * np.exp(-0.5 * ((tt - 0.03) / 0.01) ** 2)
        )
        twave = 0.25 * np.exp(-0.5 * ((tt - 0.25) / 0.04) ** 2)
        ecg[near] += qrs + twave
    return (ecg + 0.02 * rng.standard_normal(n)) * 1e-3  # volts, 1 mV R peak


def _movement(rng, u):
    return 100.0 * np.maximum(0.0, np.exp(1.2 * u) - 1.0)


@verbose
@fill_doc
def simulate_physio_dyad(
    duration=600.0,
    sfreq=25.0,
    roles=("therapist", "client"),
    modalities=MODALITIES,
    couplings=None,
    segments=None,
    heart="rate",
    seed=None,
    *,
    meas_date=None,
    verbose=None,
):
    """Simulate a dyad's EDA, heart and movement signals with known coupling.

    See :mod:`hyperinsync.simulation.physio` for the model.

    Parameters
    ----------
    duration : float
        Seconds.
    sfreq : float
        Sampling rate of every channel in Hz (at least 250 with ``heart='ecg'``).
    roles : tuple of str
        The two roles; the first leads at positive lags.
    modalities : sequence of str
        Which of ``'eda'``, ``'heart'``, ``'movement'`` to include.
    couplings : list of PhysioCoupling | None
        The couplings; ``None`` or ``[]``: none (a null dyad).
    segments : sequence of tuple | None
        ``(description, onset, duration)`` annotations to add (e.g. ``('IM', 0, 600)``).
    heart : 'rate' | 'ecg'
        Heart as an evenly sampled rate in bpm (``HR``, ``misc``) or as an ECG (``ECG``).
    %(seed)s
    meas_date : datetime | None
        The recording's start (UTC).
    %(verbose)s

    Returns
    -------
    raw : DyadRaw
        Channels ``'<role>:EDA'`` (gsr), ``'<role>:HR'`` (misc) or ``'<role>:ECG'`` (ecg),
        ``'<role>:MEA'`` (misc).
    truth : PhysioTruth
        What was planted.
    """
    _validate_type(duration, "numeric", "duration")
    _validate_type(sfreq, "numeric", "sfreq")
    _check_option("heart", heart, ("rate", "ecg"))
    modalities = [modalities] if isinstance(modalities, str) else list(modalities)
    if not modalities:
        raise ValueError("modalities is empty: choose from " + str(MODALITIES))
    for m in modalities:
        _check_option("modality", m, MODALITIES)
    if heart == "ecg" and "heart" in modalities and sfreq < 250:
        raise ValueError(f"An ECG needs at least 250 Hz, got sfreq={sfreq}.")
    n = int(round(duration * sfreq))
    seed = _seed_int(seed)
    couplings = [_check_coupling(c, duration, sfreq) for c in (couplings or [])]
    for c in couplings:
        if c["modality"] not in modalities:
            raise ValueError(
                f"A coupling of {c['modality']!r} needs that modality in modalities={modalities}."
            )
    rng = np.random.default_rng(seed)
    data = {r: {} for r in roles}
    types = {}
    beats = {}
    for m in MODALITIES:  # fixed order: the same seed gives the same signals per modality
        sub = np.random.default_rng([seed, MODALITIES.index(m)])
        if m not in modalities:
            continue
        ua, ub = _drivers(sub, n, sfreq, m, [c for c in couplings if c["modality"] == m])
        for role, u in zip(roles, (ua, ub)):
            if m == "eda":
                data[role]["EDA"], types["EDA"] = _eda(sub, u, sfreq), "gsr"
            elif m == "movement":
                data[role]["MEA"], types["MEA"] = _movement(sub, u), "misc"
            else:
                hr = _heart_rate(sub, u, sfreq)
                if heart == "rate":
                    data[role]["HR"], types["HR"] = hr, "misc"
                else:
                    beats[role] = _beats(hr, sfreq)
                    data[role]["ECG"], types["ECG"] = _ecg(sub, beats[role], n, sfreq), "ecg"
    del rng
    raws = []
    for role in roles:
        names = list(data[role])
        info = mne.create_info(names, float(sfreq), [types[c] for c in names])
        raws.append(mne.io.RawArray(np.array([data[role][c] for c in names]), info, verbose=False))
    raw = make_dyad_raw(raws[0], raws[1], roles=tuple(roles), verbose=False)
    seg = []
    if segments:
        for desc, onset, dur in segments:
            seg.append((str(desc), float(onset), float(dur)))
        raw.set_annotations(
            mne.Annotations([s[1] for s in seg], [s[2] for s in seg], [s[0] for s in seg])
        )
    if meas_date is not None:
        raw.set_meas_date(meas_date)
    truth = PhysioTruth(
        roles=tuple(roles),
        sfreq=float(sfreq),
        duration=n / float(sfreq),
        couplings=couplings,
        beats=beats,
        segments=seg,
        seed=seed,
        channels={
            m: ("ECG" if (m == "heart" and heart == "ecg") else CHANNELS[m]) for m in modalities
        },
    )
    set_dyad_meta(raw, simulation=truth.to_dict())
    logger.info(
        f"Simulated physiological dyad: {', '.join(modalities)}, {duration:g} s, "
        f"{len(couplings)} coupling(s)."
    )
    return raw, truth


# --------------------------------------------------------------------------------------------
# studies


class SimulatedPhysioStudy:
    """A simulated multi-session physiological study: design table and lazy recordings.

    Made by :func:`simulate_physio_study`. Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    table : list of dict
        One row per dyad and session: ``dyad``, ``session`` (0-based), ``date``, per segment
        ``strength_<segment>`` (the planted coupling strength), the outcomes (e.g.
        ``bond``, ``task``, ``goal``), ``lag`` and ``seed``.
    dyads : list of str
        Dyad names.
    design : dict
        The arguments, with the resolved seed and the true parameters (``dyad_sd``,
        ``session_sd``, ``icc`` of the strengths, outcome coefficients).
    """

    def __init__(self, table, dyads, design):
        self.table = table
        self.dyads = dyads
        self.design = design

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
        return (
            f"<SimulatedPhysioStudy | {len(self.dyads)} dyads x "
            f"{self.design['n_sessions']} sessions, segments "
            f"{[s for s, _ in self.design['segments']]}>"
        )

    # the same lookup (name or index, clear error) as the EEG study simulator
    _row = SimulatedStudy._row

    @verbose
    @fill_doc
    def get_dyad(self, dyad, session=0, verbose=None):
        """Generate one recording.

        Parameters
        ----------
        %(study_dyad)s
        %(study_session)s
        %(verbose)s

        Returns
        -------
        raw : DyadRaw
            The recording with its segment annotations and ``meas_date``.
        truth : PhysioTruth
            Its truth; ``truth.extra`` holds the table row.
        """
        row = self._row(dyad, session)
        d = self.design
        couplings, segs, onset = [], [], 0.0
        for name, dur in d["segments"]:
            segs.append((name, onset, dur))
            for m in d["modalities"]:
                couplings.append(
                    PhysioCoupling(
                        m, row[f"strength_{name}"], row["lag"], d["phase"], [(onset, onset + dur)]
                    )
                )
            onset += dur
        raw, truth = simulate_physio_dyad(
            duration=onset,
            sfreq=d["sfreq"],
            roles=d["roles"],
            modalities=d["modalities"],
            couplings=couplings,
            segments=segs,
            seed=row["seed"],
            meas_date=_dt.datetime.combine(row["date"], _dt.time(10, 0), tzinfo=_dt.timezone.utc),
        )
        truth.extra = _jsonable(dict(row))
        return raw, truth

    def to_table(self):
        """Return the design table as a :class:`pandas.DataFrame`.

        Returns
        -------
        table : pandas.DataFrame
            One row per dyad and session (see ``table``).
        """
        import pandas as pd

        return pd.DataFrame(self.table)


@fill_doc
def simulate_physio_study(
    n_dyads=31,
    n_sessions=5,
    segments=(("IM", 600.0), ("CB", 600.0)),
    modalities=("eda",),
    sfreq=8.0,
    roles=("therapist", "client"),
    mean_strength=None,
    dyad_sd=0.12,
    session_sd=0.08,
    lag=1.0,
    phase="in",
    outcomes=None,
    seed=None,
    *,
    start_date="2024-01-08",
):
    r"""Describe a multi-session study whose session outcomes depend on segment synchrony.

    Truth per dyad :math:`d`, session :math:`s` and segment :math:`g`: the planted coupling
    strength :math:`\rho_{dsg} = \mathrm{clip}(\mu_g + b_d + e_{ds}, 0, 0.9)` with
    :math:`b_d \sim N(0, \sigma_{dyad})` shared by all sessions of a dyad and
    :math:`e_{ds} \sim N(0, \sigma_{session})` shared by the segments of a session, so the
    strength's intraclass correlation (dyad share of its variance, before clipping) is
    :math:`\sigma_{dyad}^2 / (\sigma_{dyad}^2 + \sigma_{session}^2)`. Each outcome is
    :math:`y_{ds} = c_0 + \sum_g c_g \rho_{dsg} + a_d + \varepsilon_{ds}` with a dyad
    intercept :math:`a_d \sim N(0, \sigma_a)` and residual :math:`\varepsilon \sim N(0,
    \sigma_\varepsilon)` (a Session Alliance Inventory-like score, not rounded).

    Parameters
    ----------
    n_dyads, n_sessions : int
        Dyads (therapist-client pairs) and sessions per dyad.
    segments : sequence of tuple
        ``(description, duration_s)`` of each session's consecutive segments.
    modalities : sequence of str
        Simulated modalities (all coupled alike).
    sfreq : float
        Sampling rate in Hz.
    roles : tuple of str
        The roles; the first leads at positive ``lag``.
    mean_strength : dict | None
        ``{segment: mean strength}``; ``None``: 0.5 for the first segment, 0.3 for the
        others.
    dyad_sd, session_sd : float
        SDs of the dyad and session deviations of the strength.
    lag : float
        Lag of every coupling (s).
    phase : 'in' | 'anti'
        Phase of every coupling.
    outcomes : dict | None
        ``{name: {'intercept': c0, '<segment>': c_g, 'dyad_sd': sigma_a, 'sd': sigma_e}}``.
        ``None``: ``bond`` depends on the first segment (coefficient 4), ``task`` on the
        second (coefficient 4, when there is one), ``goal`` on neither; intercept 5, dyad SD
        0.3, residual SD 0.3.
    %(seed)s
    start_date : str
        Date of the first session of the first dyad.

    Returns
    -------
    study : SimulatedPhysioStudy
        The design table and the recordings, generated on request.
    """
    _validate_type(n_dyads, "int", "n_dyads")
    _validate_type(n_sessions, "int", "n_sessions")
    if n_dyads < 2 or n_sessions < 1:
        raise ValueError("A study needs at least 2 dyads and 1 session each.")
    segs = [(str(s), float(d)) for s, d in segments]
    names = [s for s, _ in segs]
    if len(set(names)) != len(names):
        raise ValueError(f"Segment names must be unique, got {names}.")
    if mean_strength is None:
        mean_strength = {g: (0.5 if k == 0 else 0.3) for k, g in enumerate(names)}
    if outcomes is None:
        outcomes = {
            "bond": {"intercept": 5.0, names[0]: 4.0, "dyad_sd": 0.3, "sd": 0.3},
            "task": {"intercept": 5.0, "dyad_sd": 0.3, "sd": 0.3},
            "goal": {"intercept": 5.0, "dyad_sd": 0.3, "sd": 0.3},
        }
        if len(names) > 1:
            outcomes["task"][names[1]] = 4.0
    seed = _seed_int(seed)
    rng = np.random.default_rng(seed)
    b = rng.normal(0, dyad_sd, n_dyads)
    a = {o: rng.normal(0, spec.get("dyad_sd", 0.0), n_dyads) for o, spec in outcomes.items()}
    start = _dt.date.fromisoformat(start_date)
    dyads = [f"dyad{k + 1:02d}" for k in range(n_dyads)]
    table = []
    for d, dyad in enumerate(dyads):
        for s in range(n_sessions):
            e = rng.normal(0, session_sd)
            row = dict(
                dyad=dyad, session=s, date=start + _dt.timedelta(days=d + 7 * s), lag=float(lag)
            )
            for g in names:
                row[f"strength_{g}"] = float(np.clip(mean_strength[g] + b[d] + e, 0.0, 0.9))
            for o, spec in outcomes.items():
                y = spec.get("intercept", 0.0) + a[o][d] + rng.normal(0, spec.get("sd", 0.0))
                y += sum(spec.get(g, 0.0) * row[f"strength_{g}"] for g in names)
                row[o] = float(y)
            row["seed"] = int(
                np.random.SeedSequence(seed, spawn_key=(1, d, s)).generate_state(1, np.uint64)[0]
                >> np.uint64(2)
            )
            table.append(row)
    design = dict(
        n_dyads=n_dyads,
        n_sessions=n_sessions,
        segments=segs,
        modalities=list(modalities),
        sfreq=float(sfreq),
        roles=tuple(roles),
        mean_strength=dict(mean_strength),
        dyad_sd=float(dyad_sd),
        session_sd=float(session_sd),
        icc=float(dyad_sd**2 / (dyad_sd**2 + session_sd**2)),
        lag=float(lag),
        phase=phase,
        outcomes=outcomes,
        seed=seed,
    )
    return SimulatedPhysioStudy(table, dyads, design)
