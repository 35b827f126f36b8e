"""Checks and resolution of a simulation design: bands, ROIs, episodes, roles, segments."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .._utils import DEFAULT_BANDS, _validate_type, check_bands
from ..rois import channel_matcher, read_rois
from .sources import _ALPHA_SD

_ALPHA_RANGE = (9.0, 11.5)  # Hz, where alpha peaks are drawn


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
    Each parameter is kept as the attribute of the same name.

    Parameters
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
    match = channel_matcher(ch_names)
    if isinstance(roi, str):
        rois = read_rois("default")
        if roi not in rois:
            raise ValueError(
                f"Unknown ROI {roi!r} for {side}: use one of {', '.join(rois)} (default ROI "
                "file) or a list of channel names."
            )
        present = [m for m in (match(ch) for ch in rois[roi]) if m is not None]
        if not present:
            raise ValueError(f"ROI {roi!r} ({side}) has no channel in montage {montage_label!r}.")
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
