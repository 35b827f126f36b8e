"""Who is who in a dyad: role-prefixed channel names (``'<role>:<channel>'``) and dyad metadata.

The role separator is :data:`ROLE_SEP` (``':'``); roles may not contain it, channel names
may. Roles are ordered by first appearance. The dyad's metadata (alignment report, ...)
lives in ``info['description']`` so it survives saving and reading.
"""

from __future__ import annotations

import json

import mne
import numpy as np

from ._utils import _validate_type, json_default

ROLE_SEP = ":"


DEFAULT_ROLES = ("A", "B")


# The JSON block is the last line of info['description'], after this marker, so free text a
# user or a reader put in the description stays intact before it.
META_MARKER = "hyperinsync-dyad:"


# --------------------------------------------------------------------------- names, roles
def check_role(role, name="role"):
    """Refuse a role name that is empty or holds :data:`ROLE_SEP`; return it."""
    _validate_type(role, str, name)
    if not role or ROLE_SEP in role:
        raise ValueError(f"{name} must be a non-empty string without {ROLE_SEP!r}, got {role!r}.")
    return role


def check_roles(roles):
    """Refuse anything but two different valid role names; return them as a tuple."""
    _validate_type(roles, (tuple, list), "roles", "tuple of two str")
    if len(roles) != 2:
        raise ValueError(f"roles must name exactly two participants, got {len(roles)}: {roles!r}.")
    for role in roles:
        check_role(role, "each role")
    if roles[0] == roles[1]:
        raise ValueError(f"The two roles must differ, got {tuple(roles)!r}.")
    return tuple(roles)


def check_two_roles(found):
    """Refuse a dyad whose channel names carry other than two roles."""
    if len(found) != 2:
        raise ValueError(
            f"A dyad holds exactly two roles, found {len(found)}: {found}. Build one with "
            "make_dyad_raw / make_dyad_epochs."
        )


def role_ch_name(role, ch_name):
    """Return the dyad channel name ``f"{role}{ROLE_SEP}{ch_name}"``.

    Parameters
    ----------
    role : str
        The participant's role (non-empty, without ``ROLE_SEP``).
    ch_name : str
        The original channel name (may contain ``ROLE_SEP``).

    Returns
    -------
    name : str
        The role-prefixed channel name, e.g. ``'therapist:Fz'``.

    Examples
    --------
    >>> from hyperinsync.roles import role_ch_name
    >>> role_ch_name("client", "Fz"), role_ch_name("client", "EXG:1")
    ('client:Fz', 'client:EXG:1')
    """
    check_role(role)
    _validate_type(ch_name, str, "ch_name")
    return f"{role}{ROLE_SEP}{ch_name}"


def split_ch_name(name):
    """Split a dyad channel name into ``(role, ch_name)``.

    Parameters
    ----------
    name : str
        A role-prefixed channel name such as ``'client:Fz'``.

    Returns
    -------
    role : str
        The role (the text before the first ``ROLE_SEP``).
    ch_name : str
        The original channel name (everything after it).

    Examples
    --------
    >>> from hyperinsync.roles import split_ch_name
    >>> split_ch_name("client:Fz"), split_ch_name("client:EXG:1")   # at the first ':'
    (('client', 'Fz'), ('client', 'EXG:1'))
    """
    _validate_type(name, str, "name")
    role, sep, ch_name = name.partition(ROLE_SEP)
    if not sep or not role:
        raise ValueError(
            f"Channel name {name!r} has no role prefix: dyad channel names look like "
            f"'A{ROLE_SEP}Fz' (role, {ROLE_SEP!r}, channel). Build dyads with "
            "make_dyad_raw / make_dyad_epochs."
        )
    return role, ch_name


def get_info(inst):
    """Return the :class:`mne.Info` of an MNE object (or the Info itself)."""
    return inst if isinstance(inst, mne.Info) else inst.info


def get_roles(inst):
    """Return the roles present in an object's channel names, in order of first appearance.

    Parameters
    ----------
    inst : Raw | Epochs | Evoked | Info
        Any MNE object (or Info) with role-prefixed channel names.

    Returns
    -------
    roles : tuple of str
        The roles, ordered by their first channel.
    """
    roles, bad = [], []
    for name in get_info(inst)["ch_names"]:
        role, sep, _ = name.partition(ROLE_SEP)
        if not sep or not role:
            bad.append(name)
        elif role not in roles:
            roles.append(role)
    if bad:
        raise ValueError(
            f"{len(bad)} channel name(s) have no role prefix ('role{ROLE_SEP}channel'), "
            f"e.g. {bad[:5]}: this object holds no dyad. Build one with make_dyad_raw / "
            "make_dyad_epochs."
        )
    return tuple(roles)


def role_picks(inst, role):
    """Return the indices of one participant's channels (bad channels included).

    Parameters
    ----------
    inst : Raw | Epochs | Evoked | Info
        An MNE object (or Info) with role-prefixed channel names.
    role : str
        The participant's role.

    Returns
    -------
    picks : ndarray of int
        Indices into ``inst.ch_names``.

    Examples
    --------
    >>> from hyperinsync.roles import role_picks
    >>> raw, truth = hs.simulate_dyad(duration=10.0, sfreq=100.0, roles=("therapist", "client"),
    ...                               seed=0)
    >>> picks = role_picks(raw, "client")
    >>> len(picks), raw.ch_names[picks[0]]
    (32, 'client:Fp1')
    """
    _validate_type(role, str, "role")
    roles = get_roles(inst)
    if role not in roles:
        raise ValueError(f"Unknown role {role!r}: this object holds roles {roles}.")
    names = get_info(inst)["ch_names"]
    return np.array(
        [ii for ii, name in enumerate(names) if name.partition(ROLE_SEP)[0] == role],
        dtype=int,
    )


# --------------------------------------------------------------------------- metadata
def split_description(description):
    """Return (free text, metadata dict) of an info['description']."""
    description = description or ""
    head, sep, block = description.rpartition(META_MARKER)
    if not sep or (head and not head.endswith("\n")):
        return description, {}
    try:
        meta = json.loads(block)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"info['description'] holds a corrupted hyperinsync metadata block ({err}); "
            f"remove the text from {META_MARKER!r} on or fix the JSON."
        ) from None
    return head[:-1] if head else "", meta


def get_dyad_meta(inst):
    """Return hyperinsync's metadata stored in ``info['description']``.

    Parameters
    ----------
    inst : Raw | Epochs | Evoked | Info
        The MNE object (or its Info).

    Returns
    -------
    meta : dict
        For example ``{'roles': [...], 'alignment': {...}}``; ``{}`` if none is stored.

    Examples
    --------
    >>> from hyperinsync.roles import get_dyad_meta
    >>> raw, truth = hs.simulate_dyad(duration=10.0, sfreq=100.0, roles=("therapist", "client"),
    ...                               seed=0)
    >>> meta = get_dyad_meta(raw)
    >>> sorted(meta), meta["roles"]
    (['roles', 'simulation'], ['therapist', 'client'])
    """
    return split_description(get_info(inst)["description"])[1]


def set_dyad_meta(inst, **fields):
    """Merge fields into hyperinsync's metadata in ``info['description']``, in place.

    Parameters
    ----------
    inst : Raw | Epochs | Evoked | Info
        The MNE object (or its Info). Other text in the description is kept.
    **fields
        JSON-serializable values (NumPy numbers and arrays are converted), e.g.
        ``alignment={...}``. They replace stored fields of the same name.

    Returns
    -------
    inst : Raw | Epochs | Evoked | Info
        The same object, modified in place.

    Examples
    --------
    >>> from hyperinsync.roles import get_dyad_meta, set_dyad_meta
    >>> raw, truth = hs.simulate_dyad(duration=10.0, sfreq=100.0, seed=0)
    >>> _ = set_dyad_meta(raw, session={"index": 2, "date": "2024-01-22"})
    >>> get_dyad_meta(raw)["session"]       # kept by raw.save and read back
    {'date': '2024-01-22', 'index': 2}
    """
    info = get_info(inst)
    text, meta = split_description(info["description"])
    meta.update(fields)
    block = META_MARKER + json.dumps(meta, default=json_default, sort_keys=True)
    info["description"] = f"{text}\n{block}" if text else block
    return inst
