"""Simulated dyads and studies with known ground truth.

:func:`simulate_dyad` makes one two-person recording (a :class:`~hyperinsync.dyad.DyadRaw`)
together with a :class:`SimulationTruth`; :func:`simulate_study` describes a whole study
(groups, sessions, questionnaires) and generates its recordings lazily.

The model, per person and channel (all in volts):

1. **Background**: pink noise (power ~ 1/f above 0.5 Hz, flat below, no DC) plus an individual
   alpha rhythm (a Gaussian spectral peak of 0.8 Hz SD at the person's alpha peak, from about as
   strong as the 1/f floor at the peak over frontal channels to 8 times stronger over occipital
   ones). Independent per channel, drawn in the frequency domain, then mixed across channels by
   a Gaussian distance kernel (3 cm SD; volume conduction) and scaled to an RMS of
   ``noise_level`` over all channels of the person.
2. **Coupling** (one shared source per :class:`Coupling`): complex Gaussian Fourier coefficients
   with a flat spectrum on the band's bins (edges included) and zero elsewhere. Person A gets
   the source, person B the source delayed by ``lag`` (a phase shift ``exp(-2j*pi*f*lag)`` of
   each Fourier coefficient: an exact fractional delay that is *circular* over the recording)
   and rotated by ``phase``. On each coupled channel the source is scaled so that its band power
   equals ``strength / (1 - strength)`` times that channel's background band power, both
   measured on the generated Fourier coefficients; it is then multiplied by the episode
   envelope. Volume conduction applies to the background only, so the coupling reaches exactly
   the listed channels.
3. **Artifacts** (optional): blinks over frontal channels and EMG-like bursts over lateral
   channels, listed in :attr:`SimulationTruth.artifacts` but not annotated.

Consequences, for band-limited analytic signals of a coupled pair within the band (and inside
an episode): the magnitude coherence ``|E[a b*]| / sqrt(E|a|^2 E|b|^2)`` equals ``strength``
exactly in expectation when ``lag == 0`` (a constant ``phase`` changes only the angle). A lag
rotates the cross-spectrum by ``2*pi*f*lag`` across the band, so a band-averaged time-domain
coherence shrinks by ``|mean_f exp(2j*pi*f*lag)|`` over the band's frequencies while per-frequency
coherence stays near ``strength``. With artifacts switched on the identities hold only
approximately.

Sign conventions: B's instantaneous phase is A's phase ``- 2*pi*f*lag + phase``, so the
cross-spectrum ``E[A(f) conj(B(f))]`` has angle ``2*pi*f*lag - phase``.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import asdict, dataclass, field

import mne
import numpy as np
from scipy import fft as sp_fft

from ._docs import fill_doc
from ._utils import DEFAULT_BANDS, _validate_type, check_bands, logger, verbose
from .montage import read_montage
from .rois import _matcher, read_rois

_RAMP = 0.5  # seconds of cosine ramp at each end of an episode
_MIX_SIGMA = 0.03  # m, spatial SD of the volume-conduction kernel
_ALPHA_SD = 0.8  # Hz, spectral SD of the alpha peak
_ALPHA_RANGE = (9.0, 11.5)  # Hz, where alpha peaks are drawn
_PINK_KNEE = 0.5  # Hz, below which the background spectrum is flat
_MAX_LAG = 1.0  # s


@dataclass
class Coupling:
    """One inter-brain coupling: a shared band-limited source in both people.

    Parameters
    ----------
    band : str | tuple
        A band name of ``DEFAULT_BANDS`` (``'theta'``, ``'alpha'``) or ``(fmin, fmax)`` in Hz.
    roi_a, roi_b : str | list of str
        The coupled channels of person A and of person B: an ROI name of the default ROI file
        (see :func:`hyperinsync.rois.read_rois`), restricted to the montage's channels, or a list
        of channel names that must all be in the montage.
    strength : float
        In ``[0, 1)``: the fraction of each coupled channel's in-band power that comes from the
        shared source, which is the expected magnitude coherence between coupled channels in the
        band (for ``lag == 0``; see the module docstring).
    lag : float
        Seconds, at most 1 in magnitude. Positive: A leads, B receives the source delayed by
        ``lag`` (circular delay over the recording).
    episodes : list of tuple | None
        ``[(onset_s, offset_s), ...]`` when the coupling is on, with 0.5 s cosine ramps inside
        each episode (shorter for episodes under 1 s); ``None``: on for the whole recording.
    phase : float
        Extra constant phase of B in radians (``np.pi``: anti-phase).
    """

    band: str | tuple = "alpha"
    roi_a: str | list = "frontal"
    roi_b: str | list = "frontal"
    strength: float = 0.5
    lag: float = 0.0
    episodes: list | None = None
    phase: float = 0.0


@dataclass
class SimulationTruth:
    """The ground truth of a simulated dyad.

    All channel names are dyad names (``'<role>:<channel>'``), as in the simulated recording.

    Attributes
    ----------
    roles : tuple of str
        The two roles, A first.
    sfreq : float
        Sampling rate in Hz.
    duration : float
        Recording length in seconds.
    couplings : list of dict
        One dict per :class:`Coupling`, resolved: ``band`` (name; ``'<fmin>-<fmax>Hz'`` for
        tuples), ``fmin``, ``fmax``, ``ch_a``, ``ch_b`` (lists of dyad channel names),
        ``strength``, ``lag``, ``phase`` and ``episodes`` (list of ``[onset, offset]`` or
        ``None`` for always on).
    coupled_pairs : list of tuple
        ``(ch_a, ch_b, band_name)`` for every coupled pair (each A channel of a coupling with
        each of its B channels), without repeats, in coupling order. Pairs not listed are
        uncoupled.
    alpha_peaks : dict
        ``{role: alpha peak frequency in Hz}``.
    seed : int
        The seed that reproduces the recording (``simulate_dyad(..., seed=truth.seed)``).
    montage : str
        The montage name (or ``'custom'``).
    noise_level : float
        The background RMS in volts.
    segments : list of tuple
        ``(description, onset, duration)`` of the annotated segments (empty when none).
    artifacts : list of dict
        ``{'kind': 'blink' | 'emg', 'role', 'onset', 'duration', 'amplitude'}`` (amplitude in
        volts: blink peak, EMG RMS).
    extra : dict
        Study design fields when made by :func:`simulate_study` (dyad, group, session, date,
        questionnaire scores, ...).
    """

    roles: tuple
    sfreq: float
    duration: float
    couplings: list
    coupled_pairs: list
    alpha_peaks: dict
    seed: int
    montage: str = "custom"
    noise_level: float = 10e-6
    segments: list = field(default_factory=list)
    artifacts: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def to_dict(self):
        """Return the truth as a JSON-serialisable dict (tuples become lists).

        Returns
        -------
        truth : dict
            The fields of this object.
        """
        return _jsonable(asdict(self))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    return obj


# --------------------------------------------------------------------------------------------
# argument checks


def _seed_int(seed):
    """Turn None / int / Generator into a non-negative int that reproduces the simulation."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}.")
        return int(seed)
    raise TypeError(
        f"seed must be None, an int or a numpy.random.Generator, got {type(seed).__name__}."
    )


def _check_band(band, sfreq):
    if isinstance(band, str):
        if band not in DEFAULT_BANDS:
            raise ValueError(
                f"Unknown band {band!r}: use one of {', '.join(DEFAULT_BANDS)} or a "
                "(fmin, fmax) tuple in Hz."
            )
        name, edges = band, DEFAULT_BANDS[band]
    else:
        if not isinstance(band, (tuple, list)) or len(band) != 2:
            raise ValueError(f"band must be a band name or (fmin, fmax), got {band!r}.")
        name, edges = f"{float(band[0]):g}-{float(band[1]):g}Hz", tuple(band)
    fmin, fmax = check_bands({name: edges}, sfreq)[name]  # also refuses bands past Nyquist
    return name, fmin, fmax


def _check_roi(roi, ch_names, side, montage_label):
    """Return the plain channel names of a coupling side."""
    match = _matcher(ch_names)
    if isinstance(roi, str):
        rois = read_rois("default")
        if roi not in rois:
            raise ValueError(
                f"Unknown ROI {roi!r} for {side}: use one of {', '.join(rois)} (default ROI "
                "file) or a list of channel names."
            )
        present = [m for m in (match(ch) for ch in rois[roi]) if m is not None]
        if not present:
            raise ValueError(
                f"ROI {roi!r} ({side}) has no channel in montage {montage_label!r}."
            )
        return present
    if not isinstance(roi, (list, tuple)) or not roi:
        raise ValueError(f"{side} must be an ROI name or a non-empty list of channels.")
    found = [match(ch) for ch in roi]
    missing = [ch for ch, m in zip(roi, found) if m is None]
    if missing:
        raise ValueError(
            f"Channels {missing} of {side} are not in montage {montage_label!r} "
            f"(channels: {', '.join(ch_names)})."
        )
    if len(set(found)) != len(found):
        raise ValueError(f"{side} lists a channel twice: {list(roi)}.")
    return found


def _check_episodes(episodes, duration):
    if episodes is None:
        return None
    if isinstance(episodes, (str, bytes)) or not hasattr(episodes, "__iter__"):
        raise ValueError(f"episodes must be a list of (onset, offset), got {episodes!r}.")
    out = []
    for ep in episodes:
        try:
            onset, offset = (float(v) for v in ep)
        except (TypeError, ValueError):
            raise ValueError(f"Each episode must be (onset_s, offset_s), got {ep!r}.") from None
        if not 0.0 <= onset < offset <= duration:
            raise ValueError(
                f"Episode ({onset:g}, {offset:g}) s lies outside the recording "
                f"(0, {duration:g}) s or has offset <= onset."
            )
        out.append([onset, offset])
    if not out:
        raise ValueError("episodes is empty: use None for always on, or give episodes.")
    out.sort()
    for (_, off1), (on2, _) in zip(out[:-1], out[1:]):
        if on2 < off1:
            raise ValueError(f"Episodes overlap: {out}.")
    return out


def _resolve_coupling(coupling, ch_names, sfreq, duration, roles, montage_label):
    _validate_type(coupling, Coupling, "coupling")
    band, fmin, fmax = _check_band(coupling.band, sfreq)
    strength = float(coupling.strength)
    if not 0.0 <= strength < 1.0:
        raise ValueError(f"strength must be in [0, 1), got {coupling.strength!r}.")
    lag = float(coupling.lag)
    if not abs(lag) <= _MAX_LAG:
        raise ValueError(f"lag must be within +/-{_MAX_LAG:g} s, got {coupling.lag!r}.")
    phase = float(coupling.phase)
    if not math.isfinite(phase):
        raise ValueError(f"phase must be finite, got {coupling.phase!r}.")
    ch_a = _check_roi(coupling.roi_a, ch_names, "roi_a", montage_label)
    ch_b = _check_roi(coupling.roi_b, ch_names, "roi_b", montage_label)
    return dict(
        band=band,
        fmin=fmin,
        fmax=fmax,
        ch_a=[f"{roles[0]}:{ch}" for ch in ch_a],
        ch_b=[f"{roles[1]}:{ch}" for ch in ch_b],
        strength=strength,
        lag=lag,
        phase=phase,
        episodes=_check_episodes(coupling.episodes, duration),
    )


def _intervals_overlap(eps1, eps2, duration):
    eps1 = eps1 or [[0.0, duration]]
    eps2 = eps2 or [[0.0, duration]]
    return any(a0 < b1 and b0 < a1 for a0, a1 in eps1 for b0, b1 in eps2)


def _check_no_overlap(resolved, duration):
    """Two couplings may not drive the same channel in overlapping bands at the same time."""
    for i, c1 in enumerate(resolved):
        for c2 in resolved[i + 1 :]:
            shared = (set(c1["ch_a"]) & set(c2["ch_a"])) | (set(c1["ch_b"]) & set(c2["ch_b"]))
            if (
                shared
                and c1["fmin"] < c2["fmax"]
                and c2["fmin"] < c1["fmax"]
                and _intervals_overlap(c1["episodes"], c2["episodes"], duration)
            ):
                raise ValueError(
                    f"Couplings in bands {c1['band']!r} and {c2['band']!r} overlap in frequency "
                    f"and time on channels {sorted(shared)}; their ground truth would be "
                    "undefined. Give them disjoint episodes, bands or channels."
                )


def _check_roles(roles):
    _validate_type(roles, (tuple, list), "roles")
    roles = tuple(roles)
    if len(roles) != 2 or len(set(roles)) != 2:
        raise ValueError(f"roles must be two different names, got {roles!r}.")
    for role in roles:
        _validate_type(role, str, "role")
        if ":" in role or not role:
            raise ValueError(f"A role must be non-empty and free of ':', got {role!r}.")
    return roles


def _check_segments(segments):
    out, onset = [], 0.0
    for seg in segments:
        try:
            desc, dur = seg
            dur = float(dur)
        except (TypeError, ValueError):
            raise ValueError(
                f"Each segment must be (description, duration_s), got {seg!r}."
            ) from None
        _validate_type(desc, str, "segment description")
        if not dur > 0:
            raise ValueError(f"Segment {desc!r} needs a positive duration, got {dur}.")
        out.append((desc, onset, dur))
        onset += dur
    if not out:
        raise ValueError("segments is empty: give (description, duration_s) pairs or None.")
    return out, onset


def _check_alpha_peaks(alpha_peaks, roles, rng, sfreq):
    if alpha_peaks is None:
        return {role: float(rng.uniform(*_ALPHA_RANGE)) for role in roles}
    if isinstance(alpha_peaks, dict):
        if set(alpha_peaks) != set(roles):
            raise ValueError(f"alpha_peaks must have the keys {roles}, got {list(alpha_peaks)}.")
        values = [alpha_peaks[r] for r in roles]
    else:
        values = list(alpha_peaks)
        if len(values) != 2:
            raise ValueError(f"alpha_peaks must give two frequencies, got {alpha_peaks!r}.")
    out = {}
    for role, f in zip(roles, values):
        f = float(f)
        if not 4.0 <= f <= min(20.0, sfreq / 2.0 - 3 * _ALPHA_SD):
            raise ValueError(f"alpha peak of {role!r} must be in 4-20 Hz, got {f}.")
        out[role] = f
    return out


# --------------------------------------------------------------------------------------------
# signal generation


def _complex_normal(rng, shape):
    """Standard complex Gaussian array (real and imaginary parts N(0, 1)), one draw."""
    return rng.standard_normal((*shape, 2)).view(np.complex128)[..., 0]


def _mixing_matrix(pos):
    """Row-normalised Gaussian distance kernel (volume conduction)."""
    dist2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-dist2 / (2 * _MIX_SIGMA**2))
    return kernel / np.linalg.norm(kernel, axis=1, keepdims=True)


def _background_spectrum(rng, n_times, sfreq, pos, alpha_peak):
    """Fourier coefficients (n_ch, n_freqs) of pink noise + alpha, mixed across channels."""
    freqs = sp_fft.rfftfreq(n_times, 1.0 / sfreq)
    pink = 1.0 / np.maximum(freqs, _PINK_KNEE)
    alpha = np.exp(-0.5 * ((freqs - alpha_peak) / _ALPHA_SD) ** 2) / alpha_peak
    y = pos[:, 1]
    span = np.ptp(y)
    posterior = (y.max() - y) / span if span > 0 else np.zeros_like(y)
    gain = 1.0 + 7.0 * posterior**2  # alpha peak / 1/f floor: 1 frontal .. 8 occipital
    amp = np.sqrt(pink[None, :] + gain[:, None] * alpha[None, :])
    amp[:, 0] = 0.0
    spec = _complex_normal(rng, amp.shape)
    spec *= amp
    return _mixing_matrix(pos) @ spec


def _envelope(episodes, n_times, sfreq):
    """Episode envelope: 1 inside episodes, 0 outside, cosine ramps inside each episode."""
    env = np.zeros(n_times)
    for onset, offset in episodes:
        ramp = min(_RAMP, (offset - onset) / 2.0)
        i0 = int(math.ceil(onset * sfreq))
        i1 = min(int(math.floor(offset * sfreq)) + 1, n_times)
        t = np.arange(i0, i1) / sfreq
        w = np.clip(np.minimum(t - onset, offset - t) / ramp, 0.0, 1.0)
        env[i0:i1] = np.maximum(env[i0:i1], 0.5 - 0.5 * np.cos(np.pi * w))
    return env


def _blink_and_emg(rng, n_times, sfreq, pos, role, blinks, bursts):
    """Return (artifact data or None, artifact list) for one person."""
    duration = n_times / sfreq
    data = np.zeros((len(pos), n_times))
    events = []
    if blinks:
        front = pos[pos[:, 1] >= pos[:, 1].max() - 0.01].mean(0)
        weight = np.exp(-((pos - front) ** 2).sum(1) / (2 * 0.04**2))
        weight /= weight.max()
        onsets = np.sort(rng.uniform(0, duration, rng.poisson(15 * duration / 60)))
        last = -np.inf
        for onset in onsets:
            dur, amp = rng.uniform(0.2, 0.4), rng.uniform(100e-6, 200e-6)
            if onset - last < 1.0 or onset + dur > duration:
                continue
            last = onset
            i0 = int(round(onset * sfreq))
            shape = np.sin(np.pi * np.arange(int(round(dur * sfreq))) / (dur * sfreq)) ** 2
            data[:, i0 : i0 + len(shape)] += amp * weight[:, None] * shape[None, :]
            events.append(dict(kind="blink", role=role, onset=float(onset),
                               duration=float(dur), amplitude=float(amp)))
    if bursts:
        lateral = np.flatnonzero(np.abs(pos[:, 0]) >= 0.6 * np.abs(pos[:, 0]).max())
        onsets = np.sort(rng.uniform(0, duration, rng.poisson(2 * duration / 60)))
        for onset in onsets:
            dur, amp = rng.uniform(0.5, 2.0), rng.uniform(20e-6, 50e-6)
            centre = pos[rng.choice(lateral)]
            if onset + dur > duration:
                continue
            n_seg = int(round(dur * sfreq))
            seg_freqs = sp_fft.rfftfreq(n_seg, 1 / sfreq)
            spec = _complex_normal(rng, seg_freqs.shape)
            spec[seg_freqs < 20.0] = 0.0
            noise = sp_fft.irfft(spec, n_seg)
            noise *= np.hanning(n_seg) / np.sqrt(np.mean(noise**2) + 1e-300)
            weight = np.exp(-((pos - centre) ** 2).sum(1) / (2 * 0.03**2))
            i0 = int(round(onset * sfreq))
            data[:, i0 : i0 + n_seg] += amp * weight[:, None] * noise[None, :]
            events.append(dict(kind="emg", role=role, onset=float(onset),
                               duration=float(dur), amplitude=float(amp)))
    return (data if events else None), events


def _montage_info(montage, sfreq):
    """Return (channel names, info with the montage, head-frame positions, montage, label)."""
    if isinstance(montage, mne.channels.DigMontage):
        dig, label = montage, "custom"
    else:
        dig, label = read_montage(montage), str(montage)
    ch_names = list(dig.ch_names)
    info = mne.create_info(ch_names, sfreq, "eeg")
    info.set_montage(dig)
    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    if not np.all(np.isfinite(pos)):
        raise ValueError(f"Montage {label!r} lacks positions for some channels.")
    return ch_names, info, pos, dig, label


@verbose
@fill_doc
def simulate_dyad(
    duration=60.0,
    sfreq=500.0,
    montage="standard-32",
    roles=("A", "B"),
    couplings=None,
    alpha_peaks=None,
    noise_level=10e-6,
    blinks=False,
    bursts=False,
    segments=None,
    seed=None,
    verbose=None,
):
    """Simulate a two-person EEG recording with known inter-brain couplings.

    See the module docstring for the model. Generation is in float64 with FFTs vectorised over
    channels; a 30-minute 2 x 32-channel recording at 500 Hz takes a few seconds.

    Parameters
    ----------
    duration : float
        Length in seconds (ignored when ``segments`` is given).
    sfreq : float
        Sampling rate in Hz (at least 40).
    montage : str | path-like | mne.channels.DigMontage
        A bundled montage name (see :func:`hyperinsync.montage.list_montages`), a montage file,
        or a montage. Both people get all of its channels, type ``'eeg'``, with positions.
    %(roles)s
    couplings : list of Coupling | Coupling | None
        The inter-brain couplings. ``None``: one default :class:`Coupling` (alpha band,
        frontal-frontal, strength 0.5, no lag). ``[]``: no coupling.
    alpha_peaks : dict | tuple | None
        Alpha peak frequency of each person (``{role: Hz}`` or two values in role order).
        ``None`` draws each uniformly in 9-11.5 Hz.
    noise_level : float
        RMS of each person's background over all channels, in volts.
    blinks : bool
        Add eye blinks (about 15 per minute, 0.2-0.4 s, 100-200 uV at Fp1/Fp2, fading with
        distance from the frontal pole).
    bursts : bool
        Add EMG-like bursts (about 2 per minute, 0.5-2 s, 20-50 uV RMS above 20 Hz, over
        lateral channels).
    segments : list of tuple | None
        ``[(description, duration_s), ...]``: consecutive segments that become
        :class:`mne.Annotations`; the recording lasts their total duration.
    %(seed)s
    %(verbose)s

    Returns
    -------
    raw : hyperinsync.dyad.DyadRaw
        The recording, channels ``'<role>:<channel>'``, in volts. The truth is also stored with
        ``set_dyad_meta(raw, simulation=truth.to_dict())``.
    truth : SimulationTruth
        The ground truth.
    """
    from .dyad import make_dyad_raw, set_dyad_meta

    _validate_type(sfreq, "numeric", "sfreq")
    sfreq = float(sfreq)
    if not sfreq >= 40.0:
        raise ValueError(f"sfreq must be at least 40 Hz, got {sfreq}.")
    roles = _check_roles(roles)
    if segments is not None:
        segments, duration = _check_segments(segments)
    else:
        segments = []
    _validate_type(duration, "numeric", "duration")
    duration = float(duration)
    n_times = int(round(duration * sfreq))
    if n_times < 2 * sfreq:
        raise ValueError(f"duration must be at least 2 s, got {duration} s.")
    duration = n_times / sfreq
    _validate_type(noise_level, "numeric", "noise_level")
    if not noise_level > 0:
        raise ValueError(f"noise_level must be positive, got {noise_level}.")
    if couplings is None:
        couplings = [Coupling()]
    elif isinstance(couplings, Coupling):
        couplings = [couplings]
    _validate_type(couplings, (list, tuple), "couplings")

    seed = _seed_int(seed)
    # independent streams: background A, background B, alpha peaks, artifacts, couplings
    seqs = np.random.SeedSequence(seed).spawn(5)
    streams = [np.random.default_rng(s) for s in seqs[:4]]
    rng_bg = streams[:2]
    ch_names, info, pos, dig, montage_label = _montage_info(montage, sfreq)
    resolved = [
        _resolve_coupling(c, ch_names, sfreq, duration, roles, montage_label)
        for c in couplings
    ]
    _check_no_overlap(resolved, duration)
    alpha_peaks = _check_alpha_peaks(alpha_peaks, roles, streams[2], sfreq)
    coupling_rngs = [
        np.random.default_rng(s)
        for s in seqs[4].spawn(len(resolved))
    ]

    freqs = sp_fft.rfftfreq(n_times, 1.0 / sfreq)
    index = {ch: i for i, ch in enumerate(ch_names)}
    data, band_power = [], []
    for rng, role in zip(rng_bg, roles):
        spec = _background_spectrum(rng, n_times, sfreq, pos, alpha_peaks[role])
        x = sp_fft.irfft(spec, n_times, axis=-1, workers=-1)
        scale = noise_level / np.sqrt(np.mean(x**2))
        x *= scale
        data.append(x)
        band_power.append(
            {
                (c["fmin"], c["fmax"]): scale**2
                * np.sum(np.abs(spec[:, (freqs >= c["fmin"]) & (freqs <= c["fmax"])]) ** 2, 1)
                for c in resolved
            }
        )
        del spec

    for c, rng in zip(resolved, coupling_rngs):
        in_band = (freqs >= c["fmin"]) & (freqs <= c["fmax"])
        source = np.zeros(freqs.size, complex)
        source[in_band] = _complex_normal(rng, (int(in_band.sum()),))
        source_power = np.sum(np.abs(source) ** 2)
        shift = np.exp(-2j * np.pi * freqs * c["lag"] + 1j * c["phase"])
        waves = (
            sp_fft.irfft(source, n_times),
            sp_fft.irfft(source * shift, n_times),
        )
        env = None if c["episodes"] is None else _envelope(c["episodes"], n_times, sfreq)
        ratio = c["strength"] / (1.0 - c["strength"])
        for side, (x, wave, names) in enumerate(zip(data, waves, (c["ch_a"], c["ch_b"]))):
            if env is not None:
                wave = wave * env
            power = band_power[side][(c["fmin"], c["fmax"])]
            for name in names:
                i = index[name.split(":", 1)[1]]
                x[i] += np.sqrt(ratio * power[i] / source_power) * wave
        logger.debug(
            f"Coupling {c['band']} {len(c['ch_a'])} x {len(c['ch_b'])} channels, "
            f"strength {c['strength']:g}, lag {c['lag']:g} s."
        )

    artifacts = []
    if blinks or bursts:
        for x, role in zip(data, roles):
            extra, events = _blink_and_emg(streams[3], n_times, sfreq, pos, role, blinks, bursts)
            if extra is not None:
                x += extra
            artifacts.extend(events)

    raws = []
    for x in data:
        raw = mne.io.RawArray(x, info.copy(), verbose=False)
        raw.set_montage(dig, verbose=False)
        raws.append(raw)
    del data
    dyad = make_dyad_raw(raws[0], raws[1], roles=roles, verbose=False)
    if segments:
        dyad.set_annotations(
            mne.Annotations(
                onset=[s[1] for s in segments],
                duration=[s[2] for s in segments],
                description=[s[0] for s in segments],
            )
        )

    logger.info(
        f"Simulated dyad: {duration:g} s at {sfreq:g} Hz, {len(ch_names)} channels per person, "
        f"{len(resolved)} coupling(s)."
    )
    pairs = []
    for c in resolved:
        for a in c["ch_a"]:
            for b in c["ch_b"]:
                if (a, b, c["band"]) not in pairs:
                    pairs.append((a, b, c["band"]))
    truth = SimulationTruth(
        roles=roles,
        sfreq=sfreq,
        duration=duration,
        couplings=resolved,
        coupled_pairs=pairs,
        alpha_peaks=alpha_peaks,
        seed=seed,
        montage=montage_label,
        noise_level=float(noise_level),
        segments=[tuple(s) for s in segments],
        artifacts=artifacts,
    )
    set_dyad_meta(dyad, simulation=truth.to_dict())
    return dyad, truth


# --------------------------------------------------------------------------------------------
# studies

DEFAULT_GROUPS = {"mindful": 0.45, "non-mindful": 0.25}
_STRENGTH_JITTER = 0.05  # SD of dyad strengths around their group value
_STRENGTH_RANGE = (0.02, 0.9)
_GAP_CORR = -0.67  # population correlation of the alliance gap WAI_T - WAI_C with strength
_WAI_MEAN, _WAI_SD = 66.0, 5.0  # mean alliance level of a dyad
_GAP_MEAN, _GAP_SD = -2.0, 6.0  # alliance gap WAI_T - WAI_C
_EPISODE_SLOT = 30.0  # s of "session" per Level 1 episode slot


def _default_study_couplings():
    return [Coupling("theta", "frontal", "frontal"), Coupling("alpha", "central", "central")]


class SimulatedStudy:
    """A simulated study: its design table and lazily generated recordings.

    Made by :func:`simulate_study`. Recordings are generated on request by :meth:`get_dyad`,
    deterministically from the study seed, so a study of many long recordings never sits in
    memory at once.

    Attributes
    ----------
    table : list of dict
        One row per dyad and session: ``dyad``, ``group``, ``session`` (0-based), ``date``
        (:class:`datetime.date`), ``strength`` (coupling strength of the session's rest_pre and
        session segments), ``strength_rest_post``, ``WAI_T``, ``WAI_C`` (Working Alliance
        Inventory short form, 12-84), ``alliance_gap`` (``WAI_T - WAI_C``), ``episodes``
        (Level 1 episodes inside ``'session'``, absolute ``[onset, offset]`` in s) and ``seed``.
    dyads : list of str
        Dyad names (``'dyad01'``, ...).
    groups : dict
        ``{group: nominal coupling strength}``.
    design : dict
        The arguments of :func:`simulate_study` (with the resolved seed).
    """

    def __init__(self, table, dyads, groups, design, couplings, alpha_peaks):
        self.table = table
        self.dyads = dyads
        self.groups = groups
        self.design = design
        self._couplings = couplings
        self._alpha_peaks = alpha_peaks

    def __repr__(self):
        return (
            f"<SimulatedStudy | {len(self.dyads)} dyads, {self.design['n_sessions']} "
            f"session(s), groups {self.groups}>"
        )

    def _row(self, dyad, session):
        if isinstance(dyad, (int, np.integer)) and not isinstance(dyad, bool):
            if not 0 <= dyad < len(self.dyads):
                raise ValueError(f"dyad index {dyad} outside 0-{len(self.dyads) - 1}.")
            dyad = self.dyads[dyad]
        for row in self.table:
            if row["dyad"] == dyad and row["session"] == session:
                return row
        raise ValueError(
            f"No recording for dyad {dyad!r}, session {session!r}: dyads are "
            f"{', '.join(self.dyads)}; sessions 0-{self.design['n_sessions'] - 1}."
        )

    def couplings_for(self, dyad, session=0):
        """Return the couplings (with episodes) of one recording.

        Parameters
        ----------
        dyad : str | int
            Dyad name or index.
        session : int
            Session index (0-based).

        Returns
        -------
        couplings : list of Coupling
            For each coupling template and each segment, one :class:`Coupling` active during
            that segment (or, in ``'session'``, during its Level 1 episodes).
        """
        row = self._row(dyad, session)
        names = [s[0] for s in self.design["segments"]]
        out, onset = [], 0.0
        for desc, dur in self.design["segments"]:
            if desc == "session":
                episodes = row["episodes"]
            else:
                episodes = [(onset, onset + dur)]
            strength = row["strength"]
            if desc == "rest_post" and "rest_pre" in names:
                strength = row["strength_rest_post"]
            if episodes:
                for tmpl in self._couplings:
                    out.append(
                        Coupling(tmpl.band, tmpl.roi_a, tmpl.roi_b, strength, tmpl.lag,
                                 [tuple(e) for e in episodes], tmpl.phase)
                    )
            onset += dur
        return out

    @verbose
    @fill_doc
    def get_dyad(self, dyad, session=0, verbose=None):
        """Generate one recording of the study.

        Parameters
        ----------
        dyad : str | int
            Dyad name (e.g. ``'dyad01'``) or index into :attr:`dyads`.
        session : int
            Session index (0-based).
        %(verbose)s

        Returns
        -------
        raw : hyperinsync.dyad.DyadRaw
            The recording, with segment annotations and ``meas_date`` on the session date.
        truth : SimulationTruth
            Its ground truth; ``truth.extra`` holds the table row.
        """
        from .dyad import set_dyad_meta

        row = self._row(dyad, session)
        d = self.design
        raw, truth = simulate_dyad(
            sfreq=d["sfreq"],
            montage=d["montage"],
            roles=d["roles"],
            couplings=self.couplings_for(dyad, session),
            alpha_peaks=self._alpha_peaks[row["dyad"]],
            segments=d["segments"],
            seed=row["seed"],
        )
        raw.set_meas_date(
            _dt.datetime.combine(row["date"], _dt.time(10, 0), tzinfo=_dt.timezone.utc)
        )
        truth.extra = _jsonable(dict(row))
        set_dyad_meta(raw, simulation=truth.to_dict())
        return raw, truth

    def iter_recordings(self):
        """Generate the recordings one after another.

        Yields
        ------
        row : dict
            The table row.
        raw : hyperinsync.dyad.DyadRaw
            Its recording.
        truth : SimulationTruth
            Its ground truth.
        """
        for row in self.table:
            raw, truth = self.get_dyad(row["dyad"], row["session"], verbose=False)
            yield dict(row), raw, truth

    def to_table(self, as_frame=None):
        """Return the design table.

        Parameters
        ----------
        as_frame : bool | None
            ``True``: a :class:`pandas.DataFrame` (requires pandas); ``False``: a list of dicts;
            ``None``: a DataFrame when pandas is installed, else a list of dicts.

        Returns
        -------
        table : pandas.DataFrame | list of dict
            One row per dyad and session (a copy).
        """
        rows = [dict(row, episodes=[list(e) for e in row["episodes"]]) for row in self.table]
        if as_frame is False:
            return rows
        try:
            import pandas as pd
        except ImportError:
            if as_frame:
                raise
            return rows
        return pd.DataFrame(rows)


def _session_episodes(rng, onset, duration):
    """Level 1 episodes (5-20 s) inside a 'session' segment: one per 30 s slot, 3-6 at most."""
    n_slots = int(duration // _EPISODE_SLOT)
    n_episodes = min(int(rng.integers(3, 7)), n_slots)
    if n_episodes == 0:
        return []
    slot = duration / n_episodes
    out = []
    for k in range(n_episodes):
        length = float(rng.uniform(5.0, 20.0))
        start = onset + k * slot + float(rng.uniform(2.5, slot - length - 2.5))
        out.append([round(start, 3), round(start + length, 3)])
    return out


@verbose
@fill_doc
def simulate_study(
    n_dyads=14,
    groups=None,
    n_sessions=1,
    segments=(("rest_pre", 300.0), ("session", 1200.0), ("rest_post", 300.0)),
    sfreq=500.0,
    montage="tmsi-mobita-32",
    roles=("therapist", "client"),
    couplings=None,
    session_interval_days=7,
    trend_per_session=0.0,
    rest_post_gain=0.0,
    seed=None,
    *,
    start_date="2024-01-08",
    verbose=None,
):
    """Describe a simulated hyperscanning study with known group, segment and session effects.

    Ground truth at three levels:

    - **Level 1** (within a recording): coupling is on only during a few 5-20 s episodes inside
      the ``'session'`` segment (one per 30 s of session, 3-6; none if it is under 30 s), and
      throughout every other segment.
    - **Level 2** (segments): in ``'rest_post'`` the strength is ``rest_post_gain`` above
      ``'rest_pre'``.
    - **Level 3** (sessions): the strength changes by ``trend_per_session`` per session.

    Between dyads: each dyad's strength is its group's value plus Gaussian jitter (SD 0.05),
    clipped to 0.02-0.9. The alliance gap ``WAI_T - WAI_C`` (therapist minus client Working
    Alliance Inventory short form, integer scores in 12-84) is drawn per row with population
    correlation -0.67 with the row's coupling strength (standardised by the population mean
    and SD of the group mixture), as in the dual-EEG therapy pilot; rounding shrinks it
    slightly.

    Parameters
    ----------
    n_dyads : int
        Number of dyads, split into consecutive, near-equal blocks, one per group.
    groups : dict | None
        ``{group: coupling strength}``. ``None``: ``{'mindful': 0.45, 'non-mindful': 0.25}``.
    n_sessions : int
        Sessions per dyad.
    segments : sequence of tuple
        ``(description, duration_s)`` of each recording's consecutive segments.
    sfreq : float
        Sampling rate in Hz.
    montage : str | path-like
        Montage of both people.
    roles : tuple of str
        The two participants' role names, therapist first by default.
    couplings : list of Coupling | None
        Templates: their band, ROIs, lag and phase are used; strength and episodes come from
        the design. ``None``: theta frontal-frontal and alpha central-central.
    session_interval_days : int
        Days between consecutive sessions of a dyad.
    trend_per_session : float
        Change of coupling strength per session (Level 3).
    rest_post_gain : float
        Strength in ``'rest_post'`` minus strength in ``'rest_pre'`` (Level 2).
    %(seed)s
    start_date : str | datetime.date
        Date of the first session of the first dyad; dyad ``k`` starts ``k`` days later.
    %(verbose)s

    Returns
    -------
    study : SimulatedStudy
        The design table and a lazy recording generator (:meth:`SimulatedStudy.get_dyad`).
    """
    _validate_type(n_dyads, "int", "n_dyads")
    _validate_type(n_sessions, "int", "n_sessions")
    _validate_type(session_interval_days, "int", "session_interval_days")
    groups = dict(DEFAULT_GROUPS if groups is None else groups)
    if not groups:
        raise ValueError("groups is empty: give {group: strength}.")
    for name, value in groups.items():
        _validate_type(name, str, "group name")
        if not 0.0 <= float(value) < 1.0:
            raise ValueError(f"Strength of group {name!r} must be in [0, 1), got {value!r}.")
    if n_dyads < len(groups):
        raise ValueError(f"n_dyads={n_dyads} is fewer than the {len(groups)} groups.")
    if n_sessions < 1:
        raise ValueError(f"n_sessions must be at least 1, got {n_sessions}.")
    if session_interval_days < 1:
        raise ValueError("session_interval_days must be at least 1.")
    roles = _check_roles(roles)
    seg_list, total = _check_segments(segments)
    segments = [(desc, dur) for desc, _, dur in seg_list]
    if isinstance(start_date, str):
        start_date = _dt.date.fromisoformat(start_date)
    _validate_type(start_date, _dt.date, "start_date")
    couplings = _default_study_couplings() if couplings is None else list(couplings)
    ch_names, _, _, _, label = _montage_info(montage, float(sfreq))
    for tmpl in couplings:  # fail now, not at the first get_dyad
        _resolve_coupling(tmpl, ch_names, float(sfreq), total, roles, label)

    seed = _seed_int(seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    names = list(groups)
    values = np.array([float(groups[g]) for g in names])
    blocks = np.array_split(np.arange(n_dyads), len(names))
    group_of = np.empty(n_dyads, int)
    for k, block in enumerate(blocks):
        group_of[block] = k
    weights = np.array([len(b) for b in blocks]) / n_dyads
    pop_mean = float(weights @ values)
    pop_sd = float(np.sqrt(weights @ (values - pop_mean) ** 2 + _STRENGTH_JITTER**2))
    base = np.clip(values[group_of] + rng.normal(0, _STRENGTH_JITTER, n_dyads),
                   *_STRENGTH_RANGE)
    level = rng.normal(_WAI_MEAN, _WAI_SD, n_dyads)
    peaks = rng.uniform(*_ALPHA_RANGE, (n_dyads, 2))
    width = len(str(n_dyads))
    dyads = [f"dyad{k + 1:0{max(2, width)}d}" for k in range(n_dyads)]
    session_onset = {desc: onset for desc, onset, _ in seg_list}

    table = []
    for d, dyad in enumerate(dyads):
        for s in range(n_sessions):
            strength = float(np.clip(base[d] + trend_per_session * s, 0.0, 0.95))
            post = float(np.clip(strength + rest_post_gain, 0.0, 0.95))
            z = (strength - pop_mean) / pop_sd
            gap = _GAP_MEAN + _GAP_SD * (
                _GAP_CORR * z + math.sqrt(1 - _GAP_CORR**2) * rng.standard_normal()
            )
            wai_t = int(np.clip(round(level[d] + gap / 2), 12, 84))
            wai_c = int(np.clip(round(level[d] - gap / 2), 12, 84))
            episodes = []
            if "session" in session_onset:
                dur = dict(segments)["session"]
                episodes = _session_episodes(rng, session_onset["session"], dur)
            rec_seed = int(
                np.random.SeedSequence(seed, spawn_key=(1, d, s)).generate_state(1, np.uint64)[0]
                >> np.uint64(1)
            )
            table.append(
                dict(
                    dyad=dyad,
                    group=names[group_of[d]],
                    session=s,
                    date=start_date + _dt.timedelta(days=d + s * session_interval_days),
                    strength=strength,
                    strength_rest_post=post,
                    WAI_T=wai_t,
                    WAI_C=wai_c,
                    alliance_gap=wai_t - wai_c,
                    episodes=episodes,
                    seed=rec_seed,
                )
            )
    design = dict(
        n_dyads=n_dyads, n_sessions=n_sessions, segments=segments, sfreq=float(sfreq),
        montage=montage, roles=roles, session_interval_days=session_interval_days,
        trend_per_session=float(trend_per_session), rest_post_gain=float(rest_post_gain),
        seed=seed, start_date=start_date,
    )
    alpha_peaks = {dyad: tuple(float(p) for p in peaks[d]) for d, dyad in enumerate(dyads)}
    logger.info(f"Simulated study: {n_dyads} dyads x {n_sessions} session(s), {total:g} s each.")
    return SimulatedStudy(table, dyads, dict(groups), design, couplings, alpha_peaks)
