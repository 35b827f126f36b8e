"""Who is paired with whom in a null: pseudo-dyads, shuffle orders, common channels and lengths."""

from __future__ import annotations

import math

import mne
import numpy as np

from .._utils import (
    _validate_type,
    crop_copy,
    logger,
    warn,
)
from ..dyad import ROLE_SEP, get_roles, split_ch_name
from ..sync.signals import (
    data_picks,
)


# ------------------------------------------------------------------------------ inputs
def _check_n_surrogates(n_surrogates, allow_none=False):
    if n_surrogates is None and allow_none:
        return None
    _validate_type(n_surrogates, "int", "n_surrogates")
    if n_surrogates < 1:
        raise ValueError(f"n_surrogates must be at least 1, got {n_surrogates}; use e.g. 1000.")
    return int(n_surrogates)


def _role_order(insts, keep_roles):
    """Each dyad's two roles in one order, by name: the order of dyad 0's roles.

    Pseudo-dyads pair people by role *name* (the therapist of dyad *i* with the client of
    dyad *j*), whatever order a dyad's channels come in. With ``keep_roles`` every dyad must
    have the same two roles; otherwise a dyad with other role names keeps its own order.
    """
    ref = tuple(get_roles(insts[0]))
    order = []
    for d, inst in enumerate(insts):
        roles = tuple(get_roles(inst))
        if set(roles) == set(ref):
            order.append(ref)
        elif keep_roles:
            raise ValueError(
                f"Dyad {d} has roles {list(roles)}, but dyad 0 has {list(ref)}: with "
                "keep_roles=True pseudo-dyads pair people by role name, so every dyad needs "
                "the same two roles. Rename the roles (e.g. make_dyad_raw(..., roles=...)) "
                "or pass keep_roles=False to pair any two people of different dyads."
            )
        else:
            logger.info(
                f"Dyad {d} has roles {list(roles)} (dyad 0: {list(ref)}); with "
                "keep_roles=False its people are paired in their own order."
            )
            order.append(roles)
    return order


def _plain_good_channels(inst, role, picks=None):
    """Plain names of one person's good data channels (or of ``picks``)."""
    roles, picks = data_picks(inst, picks)
    return [split_ch_name(inst.ch_names[i])[1] for i in picks[roles.index(role)]]


def _common_channels(insts, keep_roles, order, picks=None):
    """Plain channel names used for every person, and per-dyad logs of dropped ones.

    ``order[d]`` are dyad ``d``'s roles in the common order (see :func:`_role_order`).
    """
    per_person = []  # (dyad index, role position in the common order, role, [plain names])
    for d, inst in enumerate(insts):
        for r, role in enumerate(order[d]):
            per_person.append((d, r, role, _plain_good_channels(inst, role, picks)))
    groups = [[0], [1]] if keep_roles else [[0, 1]]
    common = []
    for g in groups:
        sets = [names for _, r, _, names in per_person if r in g]
        keep = [c for c in sets[0] if all(c in s for s in sets[1:])]
        common.append(keep)
        for d, r, role, names in per_person:
            if r in g:
                dropped = [c for c in names if c not in keep]
                if dropped:
                    logger.info(
                        f"Dyad {d}, role {role!r}: channels {dropped} are not in every "
                        "recording and are left out."
                    )
        if len(keep) < 2:
            which = f" for role {order[0][g[0]]!r}" if keep_roles else ""
            raise ValueError(
                f"Only {len(keep)} good data channel(s) ({keep}) are common to all "
                f"{len(insts)} recordings{which}: pseudo-dyads need at least 2. Check "
                "info['bads'] and the channel names, or pass recordings with matching "
                "montages."
            )
    if not keep_roles:
        common = [common[0], common[0]]
    return common


def _person_picks(inst, role, plain):
    return np.array([inst.ch_names.index(f"{role}{ROLE_SEP}{c}") for c in plain], int)


def _crop_common(insts):
    """Cut every recording to the shortest one (samples for Raw, epochs for Epochs)."""
    sfreqs = {inst.info["sfreq"] for inst in insts}
    if len(sfreqs) != 1:
        raise ValueError(
            f"The recordings have different sampling rates {sorted(sfreqs)} Hz: resample "
            "them to one rate (inst.resample) before building pseudo-dyads."
        )
    if isinstance(insts[0], mne.io.BaseRaw):
        lengths = [inst.n_times for inst in insts]
        n = min(lengths)
        sfreq = insts[0].info["sfreq"]
        out = [inst if inst.n_times == n else crop_copy(inst, 0, (n - 1) / sfreq) for inst in insts]
        if len(set(lengths)) > 1:
            logger.info(
                f"Recordings of {min(lengths)}-{max(lengths)} samples cut to the common "
                f"length {n} samples ({n / sfreq:.2f} s)."
            )
        return out, dict(n_times=int(n), lengths=[int(x) for x in lengths])
    lengths = [len(inst) for inst in insts]
    n_times = {len(inst.times) for inst in insts}
    if len(n_times) != 1:
        raise ValueError(
            f"The epochs have different lengths {sorted(n_times)} samples: crop them to one "
            "tmin/tmax (epochs.crop) before building pseudo-dyads."
        )
    n = min(lengths)
    if len(set(lengths)) > 1:
        logger.info(f"Dyads of {min(lengths)}-{max(lengths)} epochs cut to the first {n}.")
    return [inst if len(inst) == n else inst[:n] for inst in insts], dict(
        n_epochs=int(n), lengths=[int(x) for x in lengths]
    )


# ------------------------------------------------------------------------------ engines
def _pseudo_pairs(n_dyads, keep_roles, n_surrogates, rng):
    """(person_a, person_b) index pairs of pseudo-dyads; person = 2 * dyad + role."""
    if keep_roles:
        pairs = [(2 * i, 2 * j + 1) for i in range(n_dyads) for j in range(n_dyads) if i != j]
    else:
        pairs = [
            (p, q)
            for p in range(2 * n_dyads)
            for q in range(p + 1, 2 * n_dyads)
            if p // 2 != q // 2
        ]
    pairs = np.array(pairs, int)
    if n_surrogates is not None and n_surrogates < len(pairs):
        pairs = pairs[np.sort(rng.choice(len(pairs), n_surrogates, replace=False))]
    elif n_surrogates is not None and n_surrogates > len(pairs):
        logger.info(f"Only {len(pairs)} pseudo-dyads exist; using all of them, not {n_surrogates}.")
    return pairs


def shuffle_orders(rng, n, n_surrogates, what):
    """``n_surrogates`` uniformly random orders of ``range(n)`` (fixed points allowed).

    Uniform over all :math:`n!` orders, so the observed order is exchangeable with the
    surrogates and :math:`(b + 1)/(N + 1)` is exact. Derangements (no epoch left in place)
    are not: the mean of the other pairings moves *against* the observed value (the
    pairings share row and column sums), which inflates its z by :math:`n/(n-1)` -- 11 %
    with 10 epochs, enough to break a max-statistic over many pairs.
    """
    if math.factorial(n) < 20:
        warn(
            f"Shuffling {n} {what} gives only {math.factorial(n)} distinct orders: no "
            f"p-value can fall below 1/{math.factorial(n)}, so nothing can be significant at "
            f"0.05. Use more {what} (shorter ones): at least 4, better 10 or more."
        )
    return np.stack([rng.permutation(n) for _ in range(n_surrogates)])
