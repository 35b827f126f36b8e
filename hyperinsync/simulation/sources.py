"""The simulated signals.

Pink background with an alpha peak, volume conduction, envelopes, artifacts.
"""

from __future__ import annotations

import math

import mne
import numpy as np
from scipy import fft as sp_fft

from ..montage import read_montage

_RAMP = 0.5  # seconds of cosine ramp at each end of an episode


_MIX_SIGMA = 0.03  # m, spatial SD of the volume-conduction kernel


_ALPHA_SD = 0.8  # Hz, spectral SD of the alpha peak


_PINK_KNEE = 0.5  # Hz, below which the background spectrum is flat


def _complex_normal(rng, shape):
    """Draw one standard complex Gaussian array (real and imaginary parts N(0, 1))."""
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
            events.append(
                dict(
                    kind="blink",
                    role=role,
                    onset=float(onset),
                    duration=float(dur),
                    amplitude=float(amp),
                )
            )
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
            events.append(
                dict(
                    kind="emg",
                    role=role,
                    onset=float(onset),
                    duration=float(dur),
                    amplitude=float(amp),
                )
            )
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
