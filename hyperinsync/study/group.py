"""The group step of a study.

Per-dyad features, group contrast, correlations, mixed model, pseudo-dyads and Level 3 trends
(see "Group statistics" in :mod:`hyperinsync.study.config`).
"""

from __future__ import annotations

import warnings
from inspect import signature

import numpy as np

from .._utils import (
    check_n_jobs,
    logger,
    warn,
)
from ..stats.surrogate_checks import roi_channels
from .checks import (
    StudyError,
)
from .physio_group import correct_trends, lagged_group, one_session_per_dyad
from .recording import (
    _ANALYSES,
    _crop_segment,
    _load_recording,
    _shared_options,
)

FEATURES = ("corrected", "z", "raw")
# what the group statistics never use of a recording's part: not read (the per-epoch values
# are two thirds of a part; without them the demo's 42 parts take 22 MB, not 89, and half
# the time to read)
_UNUSED = ("level1", "level2", "epoch_data")


_FEATURE_TEXT = {
    "corrected": "surrogate-corrected synchrony: observed minus the mean of the recording's "
    "own surrogate null ([surrogates]), per session, then the mean over sessions",
    "z": "surrogate z: (observed - null mean) / null SD of the recording's own surrogate "
    "null ([surrogates]), per session, then the mean over sessions",
    "raw": "raw synchrony (not corrected for chance level, which depends on the spectrum "
    "and the epoch length), mean over sessions",
}


def _check_statistics(st, surrogates):
    """Validate the [statistics] options that shape the group step."""
    if st is None:
        return
    if st.get("feature") not in FEATURES:
        raise StudyError(
            f"[statistics] feature must be one of {', '.join(FEATURES)}, got {st.get('feature')!r}."
        )
    if st["feature"] != "raw" and surrogates is None:
        raise StudyError(
            f"[statistics] feature = {st['feature']!r} is corrected against each recording's "
            "surrogate null, but [surrogates] is false. Enable [surrogates], or set "
            '[statistics] feature = "raw" (not corrected for chance level: groups that '
            "differ in spectrum, e.g. alpha power, then differ in 'synchrony')."
        )
    if st.get("correction") not in ("fdr", "maxstat", False, None):
        raise StudyError(
            f'[statistics] correction must be "fdr", "maxstat" or false, '
            f"got {st.get('correction')!r}."
        )
    if st.get("statistic") not in ("F", "welch"):
        raise StudyError(
            f'[statistics] statistic must be "welch" or "F", got {st.get("statistic")!r}.'
        )
    ci = st.get("ci")
    if not isinstance(ci, (int, float)) or isinstance(ci, bool) or not 0 < ci < 1:
        raise StudyError(f"[statistics] ci must be a confidence level in (0, 1), got {ci!r}.")


def _session_features(records, rois, feature):
    """Same-ROI synchrony of every recording as ``{(dyad, session): {label: value}}``.

    Returns ``(chosen, raw, labels)``: the ``feature`` values and the raw values, labels
    ``segment/measure/band/roi`` in first-seen order.
    """
    from ..stats import SurrogateResult
    from ..sync import SyncResult

    chosen, raw, labels = {}, {}, {}
    for rec in records:
        key = (rec["dyad"], rec["session"])
        where = f"{rec['dyad']} session {rec['session']}"
        chosen[key], raw[key] = {}, {}
        for seg, d in rec["sync"].items():
            res = SyncResult.from_dict(d)
            rn, cn = res.roi_names
            if not rn:
                raise StudyError(
                    'Group statistics compare ROI pairs: set [analysis] rois (e.g. "default").'
                )
            names = [r for r in rn if r in cn and (rois is None or r in rois)]
            if rois is not None:
                missing = [r for r in rois if r not in names]
                if missing:
                    raise StudyError(
                        f"[statistics] rois {missing} are not ROIs of the results "
                        f"(ROIs: {rn}); check [analysis] rois."
                    )
            sur = None
            if feature != "raw":
                if seg not in rec["surrogates"]:
                    raise StudyError(
                        f"{where}: no surrogate results for segment {seg!r}, which the "
                        f"{feature!r} feature needs; re-run with [surrogates] enabled or set "
                        '[statistics] feature = "raw".'
                    )
                sur = SurrogateResult.from_dict(rec["surrogates"][seg])
            for m in res.measures:
                for b in res.bands:
                    mat = res.get_data(m, b, level="roi")
                    for r in names:
                        lab = f"{seg}/{m}/{b}/{r}"
                        labels.setdefault(lab, None)
                        raw[key][lab] = float(mat[rn.index(r), cn.index(r)])
                        if sur is None:
                            chosen[key][lab] = raw[key][lab]
                            continue
                        try:
                            ix = (
                                sur.measures.index(m),
                                list(sur.bands).index(b),
                                sur.rows.index(r),
                                sur.cols.index(r),
                            )
                        except ValueError:
                            raise StudyError(
                                f"{where}: the surrogate results of segment {seg!r} hold no "
                                f"{m} / {b} / {r}-{r} value; re-run the study."
                            ) from None
                        val = (
                            sur.observed[ix] - sur.null_mean[ix]
                            if feature == "corrected"
                            else sur.z[ix]
                        )
                        if not np.isfinite(val):
                            raise StudyError(
                                f"{where}, {lab}: the {feature} value is {val} (null with "
                                "no spread?); use more surrogates or another feature."
                            )
                        chosen[key][lab] = float(val)
    return chosen, raw, list(labels)


def _dyad_features(records, rois, differences, feature="raw"):
    """Per-dyad features of same-ROI pairs (mean over sessions) and per-dyad variables."""
    chosen, raw, labels = _session_features(records, rois, feature)
    by_dyad = {}
    for rec in records:
        by_dyad.setdefault(rec["dyad"], []).append(rec)
    dyads = sorted(by_dyad)
    incomplete = sorted({lab for lab in labels for key in chosen if lab not in chosen[key]})
    if incomplete:
        raise StudyError(
            f"Features {incomplete} are missing for some recordings (segments "
            "absent from some of them?)."
        )

    def mean_over_sessions(cells, lab, dyad):
        return np.mean([cells[(dyad, r["session"])][lab] for r in by_dyad[dyad]])

    values = np.array([[mean_over_sessions(chosen, lab, d) for lab in labels] for d in dyads])
    raw_values = np.array([[mean_over_sessions(raw, lab, d) for lab in labels] for d in dyads])
    groups = np.array([str(by_dyad[d][0]["meta"].get("group")) for d in dyads])
    var_names = sorted(
        {v for recs in by_dyad.values() for r in recs for v in r["meta"].get("variables", {})}
    )
    variables = {}
    for v in var_names:
        variables[v] = np.array(
            [
                np.mean(
                    [
                        float(r["meta"]["variables"][v])
                        for r in by_dyad[d]
                        if v in r["meta"].get("variables", {})
                    ]
                    or [np.nan]
                )
                for d in dyads
            ]
        )
    for name, pair in differences.items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise StudyError(f"[statistics] differences: {name} must be [minuend, subtrahend].")
        missing = [p for p in pair if p not in variables]
        if missing:
            raise StudyError(
                f"[statistics] differences: {name} uses unknown variable(s) {missing}; "
                f"variables are {var_names}."
            )
        variables[name] = variables[pair[0]] - variables[pair[1]]
    sessions = dict(
        dyad=np.array([k[0] for k in chosen]),
        session=np.array([k[1] for k in chosen]),
        values=np.array([[chosen[k][lab] for lab in labels] for k in chosen]),
    )
    return dict(
        dyads=np.array(dyads),
        labels=np.array(labels),
        groups=groups,
        values=values,
        raw=raw_values,
        feature=feature,
        description=_FEATURE_TEXT[feature],
        variables=variables,
        sessions=sessions,
    )


def _family(labels):
    """Words for a family of features ``segment/measure/band/roi``: its factors and size."""
    parts = [sorted(set(p)) for p in zip(*(str(lab).split("/") for lab in labels))]
    names = ("segments", "measures", "bands", "ROI pairs")
    dims = " x ".join(f"{len(p)} {n}" for p, n in zip(parts, names))
    return f"{dims} = {len(labels)} features"


def _correction(st):
    return st.get("correction") or None


def _contrast(values, groups, st, seed, labels=None):
    from ..stats import ContrastResult, group_contrast

    labels_, counts = np.unique(groups, return_counts=True)
    if len(labels_) < 2 or np.any(counts < 2):
        logger.info(
            f"Group contrast skipped: groups {dict(zip(labels_, counts))} need at "
            "least 2 groups of at least 2 dyads."
        )
        return None
    res = group_contrast(
        values,
        groups,
        n_permutations=st["n_permutations"],
        seed=seed,
        statistic=st["statistic"],
        correction=_correction(st),
        ci=st["ci"],
    )
    out = ContrastResult(
        {
            k: (np.asarray(v) if isinstance(v, (list, tuple)) and k != "df" else v)
            for k, v in res.items()
        }
    )
    out["feature"] = st["feature"]
    out["family"] = None if labels is None else _family(labels)
    if labels is not None:
        out["labels"] = np.asarray(labels)  # names the features (ContrastResult.labels)
    return out


def _correlations(values, variables, names, st, seed, dyads=None, labels=None):
    from ..stats import correlation_test

    unknown = [n for n in names if n not in variables]
    if unknown:
        raise StudyError(
            f"[statistics] correlate names unknown variable(s) {unknown}; variables are "
            f"{sorted(variables)} (add differences to derive more)."
        )
    rng = np.random.default_rng(seed)
    out = {}
    for name in names:
        y = np.asarray(variables[name], float)
        ok = np.isfinite(y)
        if not ok.all():
            left = [str(d) for d in np.asarray(dyads)[~ok]] if dyads is not None else []
            warn(
                f"Correlation with {name!r}: dyad(s) {left} have no value of {name!r} and "
                "are left out."
            )
        if ok.sum() < 3:
            logger.info(f"Correlation with {name!r} skipped: fewer than 3 dyads have it.")
            continue
        res = correlation_test(
            values[ok],
            y[ok],
            n_permutations=st["n_permutations"],
            seed=rng,
            correction=_correction(st),
            ci=st["ci"],
        )
        res["p_fdr"] = res["p_corrected"]  # the name earlier results files used
        res["feature"] = st["feature"]
        res["family"] = None if labels is None else _family(labels)
        res["dyads"] = None if dyads is None else np.asarray(dyads)[ok]
        if labels is not None:
            res["labels"] = np.asarray(labels)
        out[name] = res
    return out or None


def _mixed(feats, st):
    """Return the mixed design: group (between) x segment x band x ROI (within), dyad random."""
    from ..stats import mixed_model

    groups, dyads = feats["groups"], feats["dyads"]
    labs, counts = np.unique(groups, return_counts=True)
    if len(labs) < 2 or np.any(counts < 2):
        return None
    parts = [str(lab).split("/") for lab in feats["labels"]]
    out = {}
    for m in dict.fromkeys(p[1] for p in parts):
        rows = [
            dict(
                dyad=str(d),
                group=str(g),
                segment=p[0],
                band=p[2],
                roi=p[3],
                value=float(feats["values"][i, j]),
            )
            for i, (d, g) in enumerate(zip(dyads, groups))
            for j, p in enumerate(parts)
            if p[1] == m
        ]
        within = [
            w
            for w, k in (("segment", 0), ("band", 2), ("roi", 3))
            if len({p[k] for p in parts if p[1] == m}) > 1
        ]
        if not within:
            logger.info(
                "Mixed model skipped: one segment, band and ROI only (the group "
                "contrast is the whole design)."
            )
            return None
        res = mixed_model(rows, within=within, ci=st["ci"])
        res["feature"] = st["feature"]
        out[m] = res
    return out


def _pseudo_dyad_tests(jobs, segments, kwargs, dyads):
    """Real vs pseudo-dyads per segment of the recordings of ``jobs``: ``{segment: dict}``.

    Each recording is read (or simulated) and only its analysed segments, and (unless
    ``picks`` are set) only its channels inside the ROIs, are kept: every dyad is held at
    once. A segment's copies are dropped once tested.
    """
    func = _ANALYSES["pseudo_dyad_test"]
    rois = kwargs.get("rois", signature(func).parameters["rois"].default)
    crops = {seg: [] for seg in segments}
    for job in jobs:
        raw = _load_recording(job)
        keep = None
        if kwargs.get("picks") is None:
            # every dyad is held at once: only the channels the test transforms (same values)
            try:
                keep = roi_channels(raw, rois)
            except ValueError:
                pass  # no ROI in this recording: the test says so, in its own words
        for seg in segments:
            crops[seg].append(_crop_segment(raw, seg, keep))
        del raw
    out = {}
    for seg in segments:
        res = func(crops.pop(seg), **kwargs, verbose=False)
        res.params["dyads"] = dyads
        out[seg] = res.to_dict()
    return out


def _in_worker(func, *args):
    """``func(*args)`` in a worker process, with the warnings it gave (to give again)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = func(*args)
    return out, [(w.category, str(w.message)) for w in caught]


class _Pending:
    """The pseudo-dyad step: a function run on ``result()``, or a joblib generator to collect."""

    def __init__(self, source):
        self.source = source

    def result(self):
        if callable(self.source):
            return self.source()
        out, caught = next(iter(self.source))
        for category, message in caught:  # a worker's warnings, given here
            warnings.warn(message, category, stacklevel=2)
        return out

    def close(self):
        if hasattr(self.source, "close"):
            self.source.close()  # joblib drops the task if it has not started


_NONE = _Pending(lambda: None)  # no pseudo-dyad test


class _StudyGroup:
    """The group step of a :class:`~hyperinsync.study.Study` (a mixin of ``Study``)."""

    # -- group level ----------------------------------------------------------------------
    def _group_statistics(self, parts, n_jobs=1):
        st = self.statistics
        out = dict(
            features=None,
            contrast=None,
            correlation=None,
            mixed=None,
            pseudo_dyads=None,
            level3=None,
        )
        if st is None:
            return out
        # with n_jobs > 1 the pseudo-dyads run in a worker process meanwhile
        pseudo = self._start_pseudo_dyads(st, n_jobs)
        try:
            # the study's facts (group, variables, date) join each part's record here
            records = [self._read_record(p, _UNUSED) for p in parts]
            out.update(lagged_group(self, records, st))  # [physio] / [movement]
            if not any(rec["sync"] for rec in records):  # no EEG: its statistics do not apply
                return out
            feats = _dyad_features(
                records, st.get("rois"), st.get("differences") or {}, st["feature"]
            )
            out["features"] = feats
            values, dyads, labels = feats["values"], feats["dyads"], feats["labels"]
            seed = st.get("seed")
            if st.get("contrast"):
                out["contrast"] = _contrast(values, feats["groups"], st, seed, labels)
                if st["mixed"]:
                    out["mixed"] = _mixed(feats, st)
            correlate = list(st.get("correlate") or [])
            if correlate:
                out["correlation"] = _correlations(
                    values, feats["variables"], correlate, st, seed, dyads, labels
                )
            out["pseudo_dyads"] = pseudo.result()
            out["level3"] = self._level3(records, feats, st)
        finally:
            pseudo.close()
        logger.info(
            f"Group statistics over {len(dyads)} dyads, {values.shape[1]} features "
            f"({feats['feature']})."
        )
        return out

    def _start_pseudo_dyads(self, st, n_jobs=1):
        """Real vs pseudo-dyads per segment, on each dyad's first session.

        Returns a :class:`_Pending` whose ``result()`` is ``{segment: result dict}`` (or
        ``None``: no test). ``n_jobs``: the run's; with ``n_jobs > 1`` the whole test runs
        in ``n_jobs - 1`` threads (unless the study sets its own) in one of the run's
        worker processes, started now: it reads (or simulates) the recordings
        while this process reads the parts and fits the mixed model, and its memory (every
        dyad's segments) is never this process's.
        """
        opts = st.get("pseudo_dyads")
        if opts is None or opts is False:
            return _NONE
        opts = dict(opts)
        first = one_session_per_dyad(self.recordings, opts.pop("session", None))
        if len(first) < 2:
            logger.info("Pseudo-dyads skipped: fewer than 2 dyads.")
            return _NONE
        if not all(rec.get("eeg", True) for rec in first.values()):
            return _NONE  # no EEG to pair
        an = dict(self.analysis)
        segments = an.pop("segments")
        func = _ANALYSES["pseudo_dyad_test"]
        kwargs = _shared_options(an, func)
        kwargs.update(
            measures=an.get("measures", "plv"),
            n_permutations=st["n_permutations"],
            seed=st.get("seed"),
        )
        # threads of the test (any number gives the same values); in a worker, the cores
        # but the one this process takes for the rest of the group step (the demo's 2
        # threads on 2 cores: 10 % faster than 1, 15 % more memory)
        n_jobs = check_n_jobs(n_jobs)
        kwargs.setdefault("n_jobs", max(1, n_jobs - 1))
        kwargs.update(opts)
        # recordings are read again here: pseudo-dyads pair people of different recordings
        jobs = [dict(rec, roles=list(self.roles)) for rec in first.values()]
        args = (jobs, segments, kwargs, list(first))
        if n_jobs == 1:
            return _Pending(lambda: _pseudo_dyad_tests(*args))
        from joblib import Parallel, delayed

        # a generator: joblib dispatches the task now, to the run's (warm) workers
        return _Pending(
            Parallel(n_jobs=2, return_as="generator")(
                [delayed(_in_worker)(_pseudo_dyad_tests, *args)]
            )
        )

    def _level3(self, records, feats, st):
        """Session trends of every feature (needs 3 or more sessions of every dyad)."""
        opts = self.insync.get("level3")
        func = _ANALYSES["level3"]
        if opts is None or func is None:
            return None
        n_ses = {}
        for rec in records:
            n_ses[rec["dyad"]] = n_ses.get(rec["dyad"], 0) + 1
        if min(n_ses.values()) < 3:
            logger.info(
                "Level 3 skipped: it needs at least 3 sessions of every dyad "
                f"(fewest: {min(n_ses.values())})."
            )
            return None
        kwargs = dict(n_permutations=st["n_permutations"], seed=st.get("seed"))
        kwargs.update(opts)
        dates = {(rec["dyad"], rec["session"]): rec["meta"].get("date") for rec in records}
        ses = feats["sessions"]
        out = {}
        for j, lab in enumerate(feats["labels"]):
            rows = []
            for dyad, session, val in zip(ses["dyad"], ses["session"], ses["values"][:, j]):
                row = dict(dyad=str(dyad), session=int(session), value=float(val))
                if dates.get((str(dyad), int(session))):
                    row["date"] = dates[(str(dyad), int(session))]
                rows.append(row)
            if any("date" not in r for r in rows):
                rows = [{k: v for k, v in r.items() if k != "date"} for r in rows]
            out[str(lab)] = func(rows, **kwargs).to_dict()
        # the features' trend tests form one family; max-stat needs joint permutations,
        # which the per-feature tests do not share: Holm keeps the family-wise rate instead
        corr, p_corr = correct_trends([d["summary"]["p"] for d in out.values()], _correction(st))
        for d, pc in zip(out.values(), p_corr):
            d["summary"].update(
                p_corrected=None if corr is None else float(pc),
                correction=corr,
                family=_family(feats["labels"]),
                feature=feats["feature"],
            )
        return out
