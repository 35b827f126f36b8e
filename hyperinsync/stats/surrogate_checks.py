"""Argument checks of :func:`~hyperinsync.stats.surrogate_sync`: the dyads, channels and ROIs."""

from __future__ import annotations

import mne

from .._utils import _check_option, _validate_type, check_correction, check_seed
from ..dyad import ROLE_SEP, get_roles
from ..rois import roi_spec, role_rois
from ..sync.measures import check_measures
from .nulls import _roi_weights
from .pairings import (
    _check_n_surrogates,
    _common_channels,
    _crop_common,
    _plain_good_channels,
    _role_order,
)
from .result import CORRECTIONS

NULLS = (
    "pseudo_dyads",
    "epoch_shuffle",
    "circular_shift",
    "segment_shuffle",
    "phase_randomization",
)
_CONTINUOUS_ONLY = ("circular_shift", "segment_shuffle", "phase_randomization")


def _check_arguments(inst_or_insts, null, measures, seed, n_surrogates, correction, keep_roles):
    """Check the arguments of surrogate_sync; return them resolved, and the dyads as a list."""
    _check_option("null", null, NULLS)
    correction = check_correction(correction, CORRECTIONS)
    measures, rng = check_measures(measures), check_seed(seed)
    n_surrogates = _check_n_surrogates(n_surrogates, allow_none=null == "pseudo_dyads")
    if null == "pseudo_dyads":
        _validate_type(
            inst_or_insts,
            (list, tuple),
            "inst_or_insts",
            "list of dyads (pseudo_dyads pairs people of different dyads)",
        )
        insts = list(inst_or_insts)
        if len(insts) < 2:
            raise ValueError(
                f"pseudo_dyads needs at least 2 dyads to pair people of different dyads, "
                f"got {len(insts)}."
            )
    else:
        if isinstance(inst_or_insts, (list, tuple)):
            raise TypeError(
                f"null={null!r} works within one dyad: pass a single DyadRaw/DyadEpochs "
                "(use null='pseudo_dyads' for a list of dyads)."
            )
        insts = [inst_or_insts]
    for k, inst in enumerate(insts):
        _validate_type(inst, (mne.io.BaseRaw, mne.BaseEpochs), f"dyad {k}")
    kinds = {isinstance(inst, mne.io.BaseRaw) for inst in insts}
    if len(kinds) != 1:
        raise TypeError("Pass only Raw dyads or only Epochs dyads, not a mixture.")
    if null in _CONTINUOUS_ONLY and not isinstance(insts[0], mne.io.BaseRaw):
        raise TypeError(
            f"null={null!r} needs a continuous recording (DyadRaw), got Epochs: use "
            "null='epoch_shuffle' for epochs."
        )
    _validate_type(keep_roles, bool, "keep_roles")
    return correction, measures, rng, n_surrogates, insts


def _select_channels(insts, null, keep_roles, picks, rois):
    """Return the dyads (cropped for pseudo-dyads), roles, channels, pair names and ROI weights.

    With ROIs only the channels inside an ROI are kept; ``reducer`` (or ``None``) maps
    channel pairs onto ROI pairs. ``extra`` holds the parameters to report in
    ``result.params`` (the common crop, channels and role order of pseudo-dyads).
    """
    if null == "pseudo_dyads":
        insts, crop = _crop_common(insts)
        order = _role_order(insts, keep_roles)
        channels = _common_channels(insts, keep_roles, order, picks)
        extra = dict(
            crop,
            keep_roles=keep_roles,
            channels_a=channels[0],
            channels_b=channels[1],
            roles=[list(o) for o in order],
        )
    else:
        extra = {}
        order = [tuple(get_roles(insts[0]))]
        channels = [_plain_good_channels(insts[0], role, picks) for role in order[0]]
    roles0 = order[0]
    rows = [f"{roles0[0]}{ROLE_SEP}{c}" for c in channels[0]]
    cols = [f"{roles0[1]}{ROLE_SEP}{c}" for c in channels[1]]
    reducer = None
    if rois is not None:
        # only channels inside an ROI matter for ROI values: transform and pair just those
        spec = roi_spec(rois, rows, cols, roles0, "inter")
        used_r = {c for chs in spec["rows"].values() for c in chs}
        used_c = {c for chs in spec["cols"].values() for c in chs}
        channels = [
            [c for c, n in zip(channels[0], rows) if n in used_r],
            [c for c, n in zip(channels[1], cols) if n in used_c],
        ]
        rows = [n for n in rows if n in used_r]
        cols = [n for n in cols if n in used_c]
        reducer = (_roi_weights(spec["rows"], rows), _roi_weights(spec["cols"], cols).T)
    return insts, order, channels, rows, cols, reducer, extra


def roi_channels(inst, rois, picks=None):
    """Dyad channel names of ``inst`` that a test at ROI level reads: those inside an ROI.

    The good data channels (or ``picks``) of each role that lie in one of its ROIs, in
    ``inst``'s order (``rois=None``: all of them). :func:`_select_channels` transforms and
    pairs only channels of this kind, so keeping just these of a recording (e.g. the dyads
    a pseudo-dyad test holds in memory at once) changes none of the test's values.
    """
    roles = get_roles(inst)
    good = [(role, _plain_good_channels(inst, role, picks)) for role in roles]
    names = {f"{role}{ROLE_SEP}{c}" for role, plain in good for c in plain}
    if rois is not None:
        groups = role_rois(rois, [n for n in inst.ch_names if n in names], roles)
        names = {c for per_role in groups.values() for chs in per_role.values() for c in chs}
    return [n for n in inst.ch_names if n in names]
