"""One amplifier, two caps: split one recording into a dyad (:func:`split_dyad`).

Both people share one amplifier, so their channels are already sample-aligned; only the
channel-to-person assignment is needed, from the channel names (``pattern``) or given
explicitly (``mapping``).
"""

from __future__ import annotations

import re

from mne.io import BaseRaw

from .._utils import _validate_type, logger, verbose
from .align import _make_dyad, _raw_name, _resolve_montages
from .errors import SplitError

__all__ = ["split_dyad"]


def _compile(pattern):
    _validate_type(pattern, (str, re.Pattern), "pattern")
    rx = re.compile(pattern)
    if not {"name", "role"} <= set(rx.groupindex):
        raise ValueError(
            f"pattern {rx.pattern!r} needs the named groups (?P<name>...) and (?P<role>...),"
            r" e.g. r'(?P<name>.+)_(?P<role>[12])$' for 'Fz_1' / 'Fz_2'."
        )
    return rx


@verbose
def split_dyad(
    raw,
    pattern=None,
    mapping=None,
    roles=("A", "B"),
    montage=None,
    *,
    role_map=None,
    shared=None,
    shared_to="both",
    verbose=None,
):
    r"""Split one recording of two people (one amplifier, two caps) into a dyad.

    Parameters
    ----------
    raw : instance of Raw
        The recording (not modified).
    pattern : str | re.Pattern | None
        A regular expression with the named groups ``name`` (the channel name in the dyad)
        and ``role`` (which person), matched against each channel name with
        :func:`re.match`. Examples: ``r'(?P<name>.+)_(?P<role>[12])$'`` for ``Fz_1``/``Fz_2``,
        ``r'(?P<role>[12])-(?P<name>.+)'`` for ``1-Fz``/``2-Fz``. The ``role`` text is
        mapped to a role by ``role_map``; without it, the distinct role texts sorted
        (``'1'``, ``'2'``) go to ``roles[0]`` and ``roles[1]``.
    mapping : dict | None
        Instead of ``pattern``: ``{role: [channel, ...]}`` for both roles; the names stay as
        they are (``'A:Fz_1'``), in the order given. Give exactly one of ``pattern`` and
        ``mapping``.
    roles : tuple of str
        The two participants' role names. Default ``('A', 'B')``.
    montage : str | DigMontage | tuple | None
        Electrode positions for both people, or one per person.
    role_map : dict | None
        ``{role text in the channel name: role}``, e.g. ``{'1': 'mother', '2': 'child'}``.
    shared : list of str | None
        Channels that belong to nobody in particular (a trigger, a photodiode). They are
        copied to both people (``shared_to='both'``, the default, so each person keeps its
        events) or go to one role (``shared_to=role``). Channels of type ``stim`` that
        match no role are shared automatically.
    shared_to : 'both' | str
        Where shared channels go.
    %(verbose)s

    Returns
    -------
    dyad : DyadRaw
        The two people, data unchanged. ``dyad.alignment`` is
        ``{'method': 'single-amplifier', 'file': ..., 'channels': {role: [...]},
        'shared': [...]}``: the channels were sampled by one clock.

    Raises
    ------
    SplitError
        A channel matching no role (name it in ``shared``, or drop it first), a role with no
        channels, a role text not in ``role_map``, or two channels of one person ending up
        with the same name.

    Examples
    --------
    One amplifier, two caps: channels ``Fz_1`` (therapist) and ``Fz_2`` (client):

    >>> import mne
    >>> info = mne.create_info(["Fz_1", "Cz_1", "Fz_2", "Cz_2"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((4, 500)), info)
    >>> dyad = hs.io.split_dyad(raw, pattern=r"(?P<name>.+)_(?P<role>[12])$",
    ...                         role_map={"1": "therapist", "2": "client"},
    ...                         roles=("therapist", "client"))
    >>> dyad.ch_names
    ['therapist:Fz', 'therapist:Cz', 'client:Fz', 'client:Cz']
    """
    _validate_type(raw, BaseRaw, "raw", "Raw")
    _validate_type(roles, (tuple, list), "roles")
    if len(roles) != 2 or roles[0] == roles[1]:
        raise ValueError(f"roles must hold two different names, got {roles!r}.")
    if (pattern is None) == (mapping is None):
        raise ValueError("Give exactly one of pattern= and mapping=.")
    if shared_to != "both" and shared_to not in roles:
        raise ValueError(f"shared_to must be 'both' or one of {tuple(roles)}, got {shared_to!r}.")
    fname = _raw_name(raw, "the recording")
    shared = list(shared or [])
    for ch in shared:
        if ch not in raw.ch_names:
            raise SplitError(f"{fname}: shared channel {ch!r} not found.")
    stim = set(raw.copy().pick("stim", exclude=[]).ch_names) if "stim" in raw else set()

    assign = {roles[0]: [], roles[1]: []}  # role -> [(old name, new name)]
    unmatched = []
    if mapping is not None:
        _validate_type(mapping, dict, "mapping")
        if set(mapping) != set(roles):
            raise SplitError(f"mapping must have the keys {tuple(roles)}, got {tuple(mapping)}.")
        owner = {}
        for role, chs in mapping.items():
            for ch in chs:
                if ch not in raw.ch_names:
                    raise SplitError(f"{fname}: channel {ch!r} of {role!r} not found.")
                if ch in owner:
                    raise SplitError(f"{fname}: channel {ch!r} given to both roles.")
                owner[ch] = role
        for role in roles:  # in the order given
            assign[role] = [(ch, ch) for ch in mapping[role]]
        unmatched = [ch for ch in raw.ch_names if ch not in owner and ch not in shared]
    else:
        rx = _compile(pattern)
        hits = {}
        for ch in raw.ch_names:
            m = rx.match(ch) if ch not in shared else None
            if m is None:
                if ch not in shared:
                    unmatched.append(ch)
                continue
            hits[ch] = (m.group("role"), m.group("name"))
        texts = sorted({t for t, _ in hits.values()})
        if role_map is None:
            if len(texts) != 2:
                raise SplitError(
                    f"{fname}: pattern {rx.pattern!r} finds the role texts {texts}; need "
                    "exactly two, or pass role_map={text: role}."
                )
            role_map = dict(zip(texts, roles))
        _validate_type(role_map, dict, "role_map")
        for ch, (text, name) in hits.items():
            if text not in role_map or role_map[text] not in roles:
                raise SplitError(
                    f"{fname}: channel {ch!r} has role text {text!r}, which role_map "
                    f"{role_map} does not send to one of {tuple(roles)}."
                )
            assign[role_map[text]].append((ch, name))
    # stim channels matching no role are shared (each person keeps the events)
    auto = [ch for ch in unmatched if ch in stim]
    unmatched = [ch for ch in unmatched if ch not in stim]
    if unmatched:
        raise SplitError(
            f"{fname}: channel(s) {unmatched} match no role. Name them in shared=, add them "
            "to mapping=, widen pattern=, or drop them (raw.drop_channels) first."
        )
    shared = shared + auto
    for ch in shared:
        for role in roles if shared_to == "both" else [shared_to]:
            assign[role].append((ch, ch))
    for role in roles:
        own = [old for old, _ in assign[role] if old not in shared]
        if not own:
            raise SplitError(f"{fname}: role {role!r} gets no channels of its own.")
        new = [nm for _, nm in assign[role]]
        dup = sorted({nm for nm in new if new.count(nm) > 1})
        if dup:
            raise SplitError(f"{fname}: role {role!r} would hold {dup} twice.")

    parts = []
    for role in roles:
        order = [old for old, _ in assign[role]]
        part = raw.copy().pick(order).load_data(verbose=False)
        part.reorder_channels(order)
        part.rename_channels(dict(assign[role]), verbose=False)
        parts.append(part)
    report = dict(
        method="single-amplifier",
        file=fname,
        sfreq=raw.info["sfreq"],
        channels={role: [old for old, _ in assign[role]] for role in roles},
        shared=shared,
        shared_to=shared_to,
        n_pulses=None,
        offset_s=0.0,
        drift_ppm=0.0,
    )
    logger.info(
        f"Split {fname}: {len(assign[roles[0]])} channels to {roles[0]!r}, "
        f"{len(assign[roles[1]])} to {roles[1]!r} ({len(shared)} shared)."
    )
    return _make_dyad(parts[0], parts[1], roles, _resolve_montages(montage), report, [fname, fname])
