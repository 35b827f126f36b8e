"""Simulated studies: groups, sessions, questionnaires, and their recordings made lazily."""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np

from .._docs import fill_doc
from .._utils import _validate_type, logger, verbose
from .design import (
    _ALPHA_RANGE,
    Coupling,
    _check_roles,
    _check_segments,
    _jsonable,
    _resolve_coupling,
    _seed_int,
)
from .eeg import simulate_dyad
from .sources import _montage_info

DEFAULT_GROUPS = {"mindful": 0.45, "non-mindful": 0.25}


_STRENGTH_JITTER = 0.05  # SD of dyad strengths around their group value


_STRENGTH_RANGE = (0.02, 0.9)


_GAP_CORR = -0.67  # population correlation of the alliance gap WAI_T - WAI_C with strength


_EPISODE_SLOT = 30.0  # s of "session" per Level 1 episode slot


_WAI_MEAN, _WAI_SD = 66.0, 5.0  # mean alliance level of a dyad


_GAP_MEAN, _GAP_SD = -2.0, 6.0  # alliance gap WAI_T - WAI_C


def _default_study_couplings():
    return [Coupling("theta", "frontal", "frontal"), Coupling("alpha", "central", "central")]


class SimulatedStudy:
    """A simulated study: its design table and lazily generated recordings.

    Made by :func:`simulate_study`. Recordings are generated on request by :meth:`get_dyad`,
    deterministically from the study seed, so a study of many long recordings never sits in
    memory at once. The parameters ``table``, ``dyads``, ``groups`` and ``design`` are kept as
    the attributes of the same name.

    Parameters
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
    couplings : list of Coupling
        The coupling templates of the recordings (band, ROIs, lag, phase; the strength is
        that of the session, the episodes those of its row).
    alpha_peaks : dict
        ``{dyad: (alpha peak frequency of the first role, of the second)}`` in Hz.
    """

    def __init__(self, table, dyads, groups, design, couplings, alpha_peaks):
        self.table = table
        self.dyads = dyads
        self.groups = groups
        self.design = design
        self._couplings = couplings
        self._alpha_peaks = alpha_peaks

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
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
                        Coupling(
                            tmpl.band,
                            tmpl.roi_a,
                            tmpl.roi_b,
                            strength,
                            tmpl.lag,
                            [tuple(e) for e in episodes],
                            tmpl.phase,
                        )
                    )
            onset += dur
        return out

    @verbose
    @fill_doc
    def get_dyad(self, dyad, session=0, verbose=None):
        """Generate one recording of the study.

        Parameters
        ----------
        %(study_dyad)s
        %(study_session)s
        %(verbose)s

        Returns
        -------
        raw : hyperinsync.dyad.DyadRaw
            The recording, with segment annotations and ``meas_date`` on the session date.
        truth : SimulationTruth
            Its ground truth; ``truth.extra`` holds the table row.
        """
        from ..dyad import set_dyad_meta

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

    Examples
    --------
    >>> study = hs.simulate_study(n_dyads=4, n_sessions=2, sfreq=100.0, seed=1,
    ...                           segments=[("rest_pre", 20.0), ("rest_post", 20.0)])
    >>> study
    <SimulatedStudy | 4 dyads, 2 session(s), groups {'mindful': 0.45, 'non-mindful': 0.25}>
    >>> study.to_table()[["dyad", "session", "group"]].head(3)
         dyad  session        group
    0  dyad01        0      mindful
    1  dyad01        1      mindful
    2  dyad02        0      mindful
    >>> raw, truth = study.get_dyad("dyad01", session=1)   # simulated when asked for
    >>> raw.annotations.description.tolist()
    ['rest_pre', 'rest_post']
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
    base = np.clip(values[group_of] + rng.normal(0, _STRENGTH_JITTER, n_dyads), *_STRENGTH_RANGE)
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
        n_dyads=n_dyads,
        n_sessions=n_sessions,
        segments=segments,
        sfreq=float(sfreq),
        montage=montage,
        roles=roles,
        session_interval_days=session_interval_days,
        trend_per_session=float(trend_per_session),
        rest_post_gain=float(rest_post_gain),
        seed=seed,
        start_date=start_date,
    )
    alpha_peaks = {dyad: tuple(float(p) for p in peaks[d]) for d, dyad in enumerate(dyads)}
    logger.info(f"Simulated study: {n_dyads} dyads x {n_sessions} session(s), {total:g} s each.")
    return SimulatedStudy(table, dyads, dict(groups), design, couplings, alpha_peaks)
