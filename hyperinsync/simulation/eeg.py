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

import mne
import numpy as np
from scipy import fft as sp_fft

from .._docs import fill_doc
from .._utils import _validate_type, logger, verbose
from .design import (
    Coupling,
    SimulationTruth,
    _check_alpha_peaks,
    _check_no_overlap,
    _check_roles,
    _check_segments,
    _resolve_coupling,
    _seed_int,
)
from .sources import (
    _background_spectrum,
    _blink_and_emg,
    _complex_normal,
    _envelope,
    _montage_info,
)


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

    Examples
    --------
    Two people, 32 EEG channels each, coupled in alpha over central channels:

    >>> raw, truth = hs.simulate_dyad(
    ...     duration=30.0, sfreq=100.0, roles=("therapist", "client"),
    ...     couplings=[hs.Coupling("alpha", "central", "central", strength=0.6)], seed=0)
    >>> raw
    <DyadRaw | 64 x 3000 (30.0 s), ~... MiB, data loaded>
    >>> raw.roles, raw.ch_names[0], raw.ch_names[32]
    (('therapist', 'client'), 'therapist:Fp1', 'client:Fp1')
    >>> truth.coupled_pairs[0]    # the ground truth: which pairs were coupled, in which band
    ('therapist:C3', 'client:C3', 'alpha')
    """
    from ..dyad import make_dyad_raw, set_dyad_meta

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
        _resolve_coupling(c, ch_names, sfreq, duration, roles, montage_label) for c in couplings
    ]
    _check_no_overlap(resolved, duration)
    alpha_peaks = _check_alpha_peaks(alpha_peaks, roles, streams[2], sfreq)
    coupling_rngs = [np.random.default_rng(s) for s in seqs[4].spawn(len(resolved))]

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
