"""The group step of ``[physio]`` / ``[movement]``.

Where synchrony varies, its trend across sessions, what it predicts, real vs pseudo-dyads.

Per section and modality, on every recording's :class:`~hyperinsync.LaggedSyncResult`
stacked by :func:`hyperinsync.stats.segment_table` (one row per session, with its dyad,
date and variables; ``value``, by default ``sync_corrected``, is the per-session value):

- ``icc``: :func:`hyperinsync.stats.icc` of the session values, dyad vs session level;
- Level 3 (with ``[insync] level3``, every dyad with 3 sessions or more):
  :func:`hyperinsync.level3` of the session values, its p-values corrected over the
  section's modalities (``[statistics] correction``: Benjamini-Hochberg, or Holm for
  ``maxstat``);
- ``outcomes``: :func:`hyperinsync.stats.predict_outcome` of each session variable from
  the value of each of ``segments`` (``<value>_<segment>``; without segments the session
  value), random intercept per dyad, ``center``;
- ``pseudo_dyads``: :func:`hyperinsync.lagged_pseudo_dyads` on one session of every dyad.
"""

from __future__ import annotations

import numpy as np

from .._utils import logger, warn
from ..insync import level3
from ..stats import fdr_bh, holm, icc, predict_outcome, segment_table
from ..stats.lagged import lagged_pseudo_dyads
from ..stats.lagged_result import LaggedSyncResult
from .physio import analysed_dyad
from .recording import _load_recording
from .schema import LAGGED


def one_session_per_dyad(recordings, session=None):
    """``{dyad: recording}``: session ``session`` of every dyad (``None``: its first)."""
    out = {}
    for rec in sorted(recordings, key=lambda r: (r["dyad"], r["session"])):
        if session is None or rec["session"] == session:
            out.setdefault(rec["dyad"], rec)
    return out


def correct_trends(p, correction):
    """Return ``(correction, corrected p)`` of a family of Level 3 trend tests.

    Benjamini-Hochberg for ``'fdr'``; for ``'maxstat'`` Holm (the tests share no
    permutations, so no max statistic); NaN for none.
    """
    p = np.asarray(p, float)
    if correction == "fdr":
        return correction, fdr_bh(p)[1]
    if correction == "maxstat":
        return "holm", holm(p)
    return None, np.full(len(p), np.nan)


def _records(df):
    """Return a table as stored: a list of row dicts."""
    return df.to_dict("records")


def lagged_group(study, records, st):
    """``{kind: dict}`` of the group step of every configured section (see the module)."""
    out = {}
    for kind in LAGGED:
        opts = getattr(study, kind)
        if opts is not None and any(r.get(kind) for r in records):
            out[kind] = _group(study, kind, opts, records, st)
    return out


def _design(rec):
    meta = rec["meta"]
    d = dict(
        dyad=rec["dyad"],
        session=int(rec["session"]),
        group=meta.get("group"),
        date=meta.get("date"),
    )
    d.update(meta.get("variables") or {})
    return d


def _group(study, kind, opts, records, st):
    recs = sorted((r for r in records if r.get(kind)), key=lambda r: (r["dyad"], r["session"]))
    results = [LaggedSyncResult.from_dict(r[kind]) for r in recs]
    design = [_design(r) for r in recs]
    value = opts["value"]
    sessions = segment_table(results, design, level="session")
    segments = segment_table(results, design, level="segment")
    mods = list(dict.fromkeys(sessions["modality"]))
    notes = []
    out = dict(
        value=value,
        modalities=mods,
        sessions=_records(sessions),
        segments=_records(segments),
        icc={},
        level3={},
        outcomes={},
        notes=notes,
    )
    for m in mods:
        ses = sessions[sessions["modality"] == m]
        if opts["icc"]:
            out["icc"][m] = _icc(ses, value, f"[{kind}] {m}", notes)
        seg = segments[segments["modality"] == m] if len(segments) else segments
        fits = {
            o: _predict(ses, seg, o, value, opts, f"[{kind}] {m}", notes) for o in opts["outcomes"]
        }
        out["outcomes"][m] = {o: f for o, f in fits.items() if f is not None}
    out["level3"] = _level3(study, sessions, mods, value, st, kind, notes)
    out["pseudo_dyads"] = _pseudo(study, kind, opts, st, notes)
    for note in notes:
        logger.info(note)
    return out


def _icc(ses, value, where, notes):
    n_dyads = ses["dyad"].nunique()
    if n_dyads < 2 or len(ses) <= n_dyads:
        notes.append(
            f"{where}: ICC skipped (needs 2 dyads or more and a dyad with 2 sessions or more)."
        )
        return None
    try:
        return icc(ses, value=value, group="dyad")
    except ValueError as err:
        warn(f"{where}: the ICC of {value} could not be computed: {err}")
        return None


def _predict(ses, seg, outcome, value, opts, where, notes):
    """``outcome ~ value per segment (or the session's) + (1 | dyad)``."""
    if len(seg) and seg["segment"].nunique():
        wide = seg.pivot_table(
            index=["dyad", "session"], columns="segment", values=value, dropna=False
        )
        names = list(dict.fromkeys(seg["segment"]))
        wide = wide[names].rename(columns={s: f"{value}_{s}" for s in names}).reset_index()
        predictors = [f"{value}_{s}" for s in names]
        data = wide.merge(ses[["dyad", "session", outcome]], on=["dyad", "session"])
    else:
        predictors, data = [value], ses
    if data["dyad"].nunique() < 2:
        notes.append(f"{where}: {outcome} not predicted (needs 2 dyads or more).")
        return None
    try:
        fit = predict_outcome(
            data, outcome, predictors, group="dyad", center=opts["center"] or None
        )
    except ValueError as err:
        warn(f"{where}: {outcome} could not be predicted from {predictors}: {err}")
        return None
    fit["table"] = _records(fit["table"])
    fit["predictors"] = predictors
    return fit


def _level3(study, sessions, mods, value, st, kind, notes):
    """Session trends per modality, corrected over the modalities."""
    opts = study.insync.get("level3")
    if opts is None:
        return {}
    n_ses = sessions.groupby("dyad")["session"].nunique()
    if len(n_ses) == 0 or n_ses.min() < 3:
        notes.append(
            f"[{kind}] Level 3 skipped: it needs at least 3 sessions of every dyad "
            f"(fewest: {int(n_ses.min()) if len(n_ses) else 0})."
        )
        return {}
    kwargs = dict(n_permutations=st["n_permutations"], seed=st.get("seed"))
    kwargs.update(opts)
    out = {}
    for m in mods:
        ses = sessions[sessions["modality"] == m]
        cols = ["dyad", "session", value] + (["date"] if ses["date"].notna().all() else [])
        out[m] = level3(ses[cols], value=value, **kwargs).to_dict()
    corr, p_corr = correct_trends(
        [d["summary"]["p"] for d in out.values()], st.get("correction") or None
    )
    family = f"{len(out)} modalit{'y' if len(out) == 1 else 'ies'} of [{kind}]"
    for d, pc in zip(out.values(), p_corr):
        d["summary"].update(
            p_corrected=None if corr is None else float(pc),
            correction=corr,
            family=family,
            feature=value,
        )
    return out


def _pseudo(study, kind, opts, st, notes):
    """Real vs pseudo-dyads on one session of every dyad (recordings read again)."""
    po = opts.get("pseudo_dyads")
    if po is None:
        return None
    po = dict(po)
    first = one_session_per_dyad(study.recordings, po.pop("session", None))
    if len(first) < 2:
        notes.append(f"[{kind}] pseudo-dyads skipped: fewer than 2 dyads.")
        return None
    raws = []
    for rec in first.values():
        job = dict(rec, roles=list(study.roles), **{k: getattr(study, k) for k in LAGGED})
        raws.append(analysed_dyad(job, kind, _load_recording(job)))
    kw = {
        k: opts[k]
        for k in (
            "pairs",
            "lag",
            "window",
            "step",
            "definition",
            "fisher_z",
            "max_missing",
            "backend",
        )
        if k in opts
    }
    if isinstance(kw.get("pairs"), dict):
        kw["pairs"] = {k: tuple(v) for k, v in kw["pairs"].items()}
    kw.update(n_permutations=st["n_permutations"], seed=st.get("seed"))
    kw.update(po)
    res = lagged_pseudo_dyads(raws, **kw, verbose=False)
    names = list(first)
    dyads = res["dyads"].copy()
    dyads["dyad"] = [names[int(i)] for i in dyads["dyad"]]
    params = dict(
        res["params"], dyad_names=names, sessions=[int(r["session"]) for r in first.values()]
    )
    return dict(
        dyads=_records(dyads),
        group=_records(res["group"]),
        pseudo=_records(res["pseudo"]),
        params=params,
    )
