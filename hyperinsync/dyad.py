"""Dyads: both people's channels in one MNE object.

A dyad is an ordinary MNE ``Raw``/``Epochs`` whose channel names carry the participant's
role, ``"<role>:<channel>"`` (e.g. ``therapist:Fz``). Keeping both people in *one* object
means every MNE method (filter, crop, resample, indexing, drop_bad, save, ...) treats them
together: an epoch dropped is dropped for both. Because the roles live in the channel
names (``Info`` has no per-channel participant field), any MNE object named this way, e.g.
after ``mne.concatenate_epochs`` or ``mne.read_epochs``, converts back with :func:`as_dyad`.
hyperinsync's own bookkeeping (roles, alignment report) is stored as JSON in
``info['description']``, which FIF files keep.
"""

from __future__ import annotations

import copy
from functools import partial

import mne
import numpy as np
from mne.io.constants import FIFF

from ._docs import fill_doc
from ._utils import _check_option, _validate_type, logger, verbose, warn
from .roles import (  # noqa: F401  (the dyad naming API is also dyad's)
    DEFAULT_ROLES,
    ROLE_SEP,
    check_roles,
    check_two_roles,
    get_dyad_meta,
    get_info,
    get_roles,
    role_ch_name,
    role_picks,
    set_dyad_meta,
    split_ch_name,
    split_description,
)

_CH_KEYS = ("loc", "kind", "unit", "coil_type", "cal", "range", "coord_frame")


_FRAMES = {
    FIFF.FIFFV_COORD_HEAD: "head",
    FIFF.FIFFV_COORD_MRI: "mri",
    FIFF.FIFFV_MNE_COORD_MNI_TAL: "mni_tal",
    FIFF.FIFFV_COORD_UNKNOWN: "unknown",
}


_CARDINALS = {
    FIFF.FIFFV_POINT_NASION: "nasion",
    FIFF.FIFFV_POINT_LPA: "lpa",
    FIFF.FIFFV_POINT_RPA: "rpa",
}


# --------------------------------------------------------------------------- info helpers
def _map_projs(projs, rename):
    """Copy projectors with renamed columns; drop those touching an unmapped channel."""
    out = []
    for proj in projs:
        names = [rename(name) for name in proj["data"]["col_names"]]
        if any(name is None for name in names):
            continue
        proj = copy.deepcopy(proj)
        proj["data"]["col_names"] = names
        out.append(proj)
    return out


def _check_projs(inst, role):
    # An unapplied projector would be applied (or not) differently after merging, and
    # hyperinsync never changes data silently: the user decides.
    inactive = [p["desc"] for p in inst.info["projs"] if not p["active"]]
    if inactive:
        raise ValueError(
            f"The recording of {role!r} has {len(inactive)} unapplied SSP projector(s) "
            f"{inactive}: apply them first with inst.apply_proj() (or remove them with "
            "inst.del_proj())."
        )


def _dig_from_chs(info, cardinal_dig):
    """Digitization: the given fiducials plus one EEG point per positioned channel."""
    cards = [
        d
        for d in cardinal_dig or []
        if d["kind"] == FIFF.FIFFV_POINT_CARDINAL and d["ident"] in _CARDINALS
    ]
    eeg = mne.pick_types(info, eeg=True, seeg=True, ecog=True, dbs=True, exclude=[])
    pos = [info["chs"][ii]["loc"][:3] for ii in eeg]
    placed = [ii for ii, xyz in zip(eeg, pos) if np.all(np.isfinite(xyz)) and np.any(xyz)]
    if not cards and not placed:
        return None
    frame = (cards or [info["chs"][ii] for ii in placed])[0]["coord_frame"]
    montage = mne.channels.make_dig_montage(
        ch_pos={info["ch_names"][ii]: info["chs"][ii]["loc"][:3].copy() for ii in placed},
        coord_frame=_FRAMES.get(frame, "unknown"),
        **{_CARDINALS[d["ident"]]: d["r"].copy() for d in cards},
    )
    return montage.dig


def _merge_info(insts, roles):
    """One Info for both people: renamed channels with their own types and locations."""
    infos = [inst.info for inst in insts]
    names = [role_ch_name(r, n) for r, info in zip(roles, infos) for n in info["ch_names"]]
    types = [t for inst in insts for t in inst.get_channel_types()]
    info = mne.create_info(names, infos[0]["sfreq"], types)
    src_chs = [ch for i in infos for ch in i["chs"]]
    # create_info cannot take locations, units or calibrations: copy them per channel.
    with info._unlock():
        for ch, src in zip(info["chs"], src_chs):
            for key in _CH_KEYS:
                ch[key] = copy.deepcopy(src[key])
        info["bads"] = [role_ch_name(r, b) for r, i in zip(roles, infos) for b in i["bads"]]
        info["projs"] = [
            proj
            for role, i in zip(roles, infos)
            for proj in _map_projs(i["projs"], partial(role_ch_name, role))
        ]
        # The band both recordings are known to be filtered to.
        info["highpass"] = max(i["highpass"] for i in infos)
        info["lowpass"] = min(i["lowpass"] for i in infos)
        info["line_freq"] = infos[0]["line_freq"]
        info["custom_ref_applied"] = max(i["custom_ref_applied"] for i in infos)
        info["meas_date"] = infos[0]["meas_date"]
        # One set of fiducials (A's, else B's); each channel keeps its own location.
        cardinals = next((i["dig"] for i in infos if i["dig"]), None)
        info["dig"] = _dig_from_chs(info, cardinals)
    set_dyad_meta(info, roles=list(roles))
    return info


def _map_annotations(annot, rename, shift=None):
    """Annotations with channel names mapped (None drops a channel).

    With ``shift`` (s), onsets move by it and become relative to the first sample
    (``orig_time=None``); else they keep their ``orig_time``.
    """
    keep, ch_names = [], []
    for ii, names in enumerate(annot.ch_names):
        mapped = [n for n in (rename(name) for name in names) if n is not None]
        if names and not mapped:  # only about the other person's channels
            continue
        keep.append(ii)
        ch_names.append(mapped)
    kwargs = {}
    extras = getattr(annot, "extras", None)  # MNE >= 1.8
    if extras is not None and any(extras):
        kwargs["extras"] = [extras[ii] for ii in keep]
    return mne.Annotations(
        annot.onset[keep] + (shift or 0.0),
        annot.duration[keep],
        annot.description[keep],
        orig_time=annot.orig_time if shift is None else None,
        ch_names=ch_names,
        **kwargs,
    )


# --------------------------------------------------------------------------- classes
class _DyadMixin:
    """What DyadRaw and DyadEpochs share: roles and per-person views."""

    def _check_dyad(self):
        check_two_roles(get_roles(self))

    @property
    def roles(self):
        """The participants' roles, in order of first appearance (tuple of str)."""
        return get_roles(self)

    def role_picks(self, role):
        """Return the indices of one participant's channels (bads included).

        Named apart from MNE's internal ``picks`` attribute of Epochs, which MNE reads when
        picking channels.

        Parameters
        ----------
        role : str
            The participant's role.

        Returns
        -------
        picks : ndarray of int
            Indices into ``ch_names``.
        """
        return role_picks(self, role)

    @property
    def alignment(self):
        """The alignment report a reader stored, or None (dict | None)."""
        return get_dyad_meta(self).get("alignment")

    def participant(self, role):
        """Return one participant as a plain MNE object with the original channel names.

        Parameters
        ----------
        role : str
            The participant's role.

        Returns
        -------
        inst : RawArray | EpochsArray
            That person's data (a copy), channel locations and fiducials, bads, projectors,
            and (Raw) annotations or (Epochs) events, event_id, metadata, tmin, selection
            and drop_log.
        """
        idx = self.role_picks(role)
        info = mne.pick_info(self.info, idx)
        strip = {name: split_ch_name(name)[1] for name in info["ch_names"]}
        with info._unlock():
            info["projs"] = _map_projs(self.info["projs"], strip.get)
            info["description"] = split_description(info["description"])[0] or None
        mne.rename_channels(info, strip)
        with info._unlock():
            info["dig"] = _dig_from_chs(info, self.info["dig"])
        return self._participant(self.get_data(picks=idx), info, strip.get)


@fill_doc
class DyadRaw(_DyadMixin, mne.io.RawArray):
    """Continuous data of two people in one :class:`mne.io.RawArray`.

    Build it with :func:`make_dyad_raw` (or :func:`as_dyad`, :func:`read_dyad_fif`).

    Parameters
    ----------
    data : array, shape (n_channels, n_times)
        Both people's data, channels named ``"<role>:<channel>"``.
    info : mne.Info
        The measurement info with exactly two roles in its channel names.
    first_samp : int
        The first sample, as in :class:`mne.io.RawArray`.
    copy : 'data' | 'info' | 'both' | 'auto' | None
        What to copy, as in :class:`mne.io.RawArray`.
    %(verbose)s
    """

    def __init__(self, data, info, first_samp=0, copy="auto", verbose=None):
        super().__init__(data, info, first_samp=first_samp, copy=copy, verbose=verbose)
        self._check_dyad()

    def _participant(self, data, info, rename):
        raw = mne.io.RawArray(data, info, first_samp=self.first_samp, verbose=False)
        return raw.set_annotations(_map_annotations(self.annotations, rename))

    @verbose
    def make_epochs(self, duration=2.0, overlap=0.0, reject_by_annotation=True, verbose=None):
        """Cut fixed-length epochs, for both people at once.

        Parameters
        ----------
        duration : float
            Epoch length in seconds.
        overlap : float
            Overlap between consecutive epochs in seconds.
        reject_by_annotation : bool
            Reject epochs overlapping a ``BAD_`` annotation (of either person, since the
            dyad is one object).
        %(verbose)s

        Returns
        -------
        epochs : DyadEpochs
            The epochs, with the dyad's channel names and metadata.
        """
        epochs = mne.make_fixed_length_epochs(
            self,
            duration=duration,
            overlap=overlap,
            preload=True,
            reject_by_annotation=reject_by_annotation,
        )
        return as_dyad(epochs)


class DyadEpochs(_DyadMixin, mne.EpochsArray):
    """Epochs of two people in one :class:`mne.EpochsArray`.

    Build it with :func:`make_dyad_epochs` (or :func:`as_dyad`, :func:`read_dyad_epochs`,
    :meth:`DyadRaw.make_epochs`). Dropping an epoch drops it for both people.

    Parameters
    ----------
    data : array, shape (n_epochs, n_channels, n_times)
        Both people's data, channels named ``"<role>:<channel>"``.
    info : mne.Info
        The measurement info with exactly two roles in its channel names.
    *args, **kwargs
        Further arguments of :class:`mne.EpochsArray` (events, tmin, event_id, ...).
    """

    def __init__(self, data, info, *args, **kwargs):
        super().__init__(data, info, *args, **kwargs)
        self._check_dyad()

    def _participant(self, data, info, rename):
        return _epochs_like(mne.EpochsArray, data, info, self)


def _epochs_like(cls, data, info, src):
    """Epochs of class ``cls`` with the events and bookkeeping of ``src``."""
    out = cls(
        data,
        info,
        events=src.events.copy(),
        tmin=src.tmin,
        event_id=dict(src.event_id),
        metadata=None if src.metadata is None else src.metadata.copy(),
        selection=src.selection.copy(),
        drop_log=src.drop_log,
        # mne.read_epochs keeps every condition of event_id, also those without epochs
        # (and so does dropping the last epoch of a condition): keep them as MNE does
        on_missing="ignore",
        verbose=False,
    )
    # Data are already baseline-corrected (or not): record it without correcting again.
    out.baseline = src.baseline
    return out


# --------------------------------------------------------------------------- builders
def _mismatch(what, a, b, fix):
    return ValueError(f"The two recordings differ in {what}: {a} (A) vs {b} (B). {fix}")


@verbose
@fill_doc
def make_dyad_raw(raw_a, raw_b, roles=DEFAULT_ROLES, verbose=None):
    """Put two people's continuous recordings into one :class:`DyadRaw`.

    Parameters
    ----------
    raw_a, raw_b : mne.io.Raw
        The two recordings, sample-aligned: same sampling rate and number of samples
        (lazily loaded files are read). Channel sets, types and montages may differ.
    %(roles)s
    %(verbose)s

    Returns
    -------
    raw : DyadRaw
        Both people's channels, named ``"<role>:<channel>"``; data unchanged. Annotations
        are the union of both (identical ones once), ``meas_date`` and ``first_samp`` are
        A's.

    Examples
    --------
    >>> import mne
    >>> info = mne.create_info(["Fz", "Cz"], 100.0, "eeg")
    >>> rng = np.random.default_rng(0)
    >>> a = mne.io.RawArray(1e-5 * rng.standard_normal((2, 1000)), info)
    >>> b = mne.io.RawArray(1e-5 * rng.standard_normal((2, 1000)), info)
    >>> raw = hs.make_dyad_raw(a, b, roles=("therapist", "client"))
    >>> raw.ch_names
    ['therapist:Fz', 'therapist:Cz', 'client:Fz', 'client:Cz']
    >>> raw.participant("client").ch_names    # one person back, original names
    ['Fz', 'Cz']
    """
    _validate_type(raw_a, mne.io.BaseRaw, "raw_a", "Raw")
    _validate_type(raw_b, mne.io.BaseRaw, "raw_b", "Raw")
    roles = check_roles(roles)
    fix = (
        "Align the two recordings first, with a hyperinsync.io reader (e.g. "
        "hyperinsync.io.align) or by resampling / cropping both to a common span "
        "(raw.resample, raw.crop)."
    )
    if raw_a.info["sfreq"] != raw_b.info["sfreq"]:
        raise _mismatch("sampling rate (Hz)", raw_a.info["sfreq"], raw_b.info["sfreq"], fix)
    if raw_a.n_times != raw_b.n_times:
        raise _mismatch("number of samples", raw_a.n_times, raw_b.n_times, fix)
    for raw, role in zip((raw_a, raw_b), roles):
        _check_projs(raw, role)
    info = _merge_info((raw_a, raw_b), roles)
    data = np.concatenate([raw_a.get_data(), raw_b.get_data()])
    out = DyadRaw(data, info, first_samp=raw_a.first_samp)

    # Onsets relative to each recording's first sample; identical ones kept once.
    merged = sum(
        (
            _map_annotations(raw.annotations, partial(role_ch_name, role), -raw.first_time)
            for raw, role in zip((raw_a, raw_b), roles)
        ),
        mne.Annotations([], [], [], orig_time=None),
    )
    sfreq, seen, keep = info["sfreq"], set(), []
    rows = zip(merged.onset, merged.duration, merged.description, merged.ch_names)
    for ii, (onset, duration, description, ch_names) in enumerate(rows):
        key = (round(onset * sfreq), round(duration * sfreq), description, tuple(ch_names))
        if key not in seen:
            seen.add(key)
            keep.append(ii)
    out.set_annotations(merged[keep] if keep else merged)
    logger.info(f"Dyad {roles}: {len(raw_a.ch_names)} + {len(raw_b.ch_names)} channels.")
    return out


@verbose
@fill_doc
def make_dyad_epochs(epochs_a, epochs_b, roles=DEFAULT_ROLES, *, pair_by="events", verbose=None):
    """Put two people's epochs into one :class:`DyadEpochs`.

    Parameters
    ----------
    epochs_a, epochs_b : mne.Epochs
        The two people's epochs, paired one to one: same number of epochs, sampling rate
        and times. Channel sets, types and montages may differ.
    %(roles)s
    pair_by : 'events' | 'order'
        ``'events'`` (default): epoch i of A and of B must come from the same event (same
        sample and code), as when both were cut from one aligned recording; otherwise
        this raises. ``'order'``: epoch i of A is paired with epoch i of B whatever their
        events, as HyPyP does after :func:`mne.epochs.equalize_epoch_counts`; use it only
        when the i-th epochs of the two files are known to be simultaneous (events from
        two amplifiers' own clocks).
    %(verbose)s

    Returns
    -------
    epochs : DyadEpochs
        Both people's channels, named ``"<role>:<channel>"``; data unchanged. Events,
        event_id, metadata, tmin, selection and drop_log are A's.
    """
    _validate_type(epochs_a, mne.BaseEpochs, "epochs_a", "Epochs")
    _validate_type(epochs_b, mne.BaseEpochs, "epochs_b", "Epochs")
    _check_option("pair_by", pair_by, ("events", "order"))
    roles = check_roles(roles)
    # Load first: loading can drop epochs (rejection), which must happen before pairing.
    epochs_a, epochs_b = (e if e.preload else e.copy().load_data() for e in (epochs_a, epochs_b))
    a, b = epochs_a, epochs_b
    if a.info["sfreq"] != b.info["sfreq"]:
        raise _mismatch(
            "sampling rate (Hz)",
            a.info["sfreq"],
            b.info["sfreq"],
            "Resample one to the other's rate with mne.Epochs.resample.",
        )
    if len(a) != len(b):
        raise _mismatch(
            "number of epochs",
            len(a),
            len(b),
            "Equalize the epochs: drop the same epochs from both or pair them by selection "
            "(epochs[...]).",
        )
    crop = "Crop both to a common tmin/tmax with mne.Epochs.crop."
    if len(a.times) != len(b.times):
        raise _mismatch("number of time samples per epoch", len(a.times), len(b.times), crop)
    # Both tmin are on the sample grid: any difference beyond rounding is a shift.
    if abs(a.tmin - b.tmin) > 0.5 / a.info["sfreq"]:
        raise _mismatch("tmin (s)", a.tmin, b.tmin, crop)
    for col, what in ((0, "event samples"), (2, "event codes")):
        diff = np.flatnonzero(a.events[:, col] != b.events[:, col])
        if diff.size and pair_by == "order":
            logger.info(
                f"Paired by order: {diff.size} epochs differ in {what}; the dyad keeps A's events."
            )
        elif diff.size:
            ii = diff[0]
            raise _mismatch(
                f"{what} ({diff.size} epochs, first at epoch {ii})",
                a.events[ii, col],
                b.events[ii, col],
                "Pair them by selection (epochs_a[np.isin(epochs_a.selection, common)], the "
                "same for B) so epoch i of A and of B come from the same event, or, if the "
                "i-th epochs are simultaneous though their events differ, pass "
                "pair_by='order'.",
            )
    for epochs, role in zip((a, b), roles):
        _check_projs(epochs, role)
    info = _merge_info((a, b), roles)
    data = np.concatenate([a.get_data(), b.get_data()], axis=1)
    logger.info(f"Dyad {roles}: {len(a)} epochs, {len(a.ch_names)} + {len(b.ch_names)} channels.")
    return _epochs_like(DyadEpochs, data, info, a)


@verbose
def as_dyad(inst, roles=None, verbose=None):
    """Convert any MNE Raw/Epochs with role-prefixed channel names to a dyad.

    Use it on results of ``mne.concatenate_epochs``, ``mne.read_epochs``,
    ``mne.io.read_raw_fif`` or any MNE function that returns a plain object.

    Parameters
    ----------
    inst : mne.io.Raw | mne.Epochs
        An object whose channel names are ``"<role>:<channel>"`` with exactly two roles.
    roles : tuple of str | None
        If given, the roles the object must hold, in order of first appearance.
    %(verbose)s

    Returns
    -------
    dyad : DyadRaw | DyadEpochs
        ``inst`` itself if it already is one, else a copy of the data in the dyad class.
    """
    _validate_type(inst, (mne.io.BaseRaw, mne.BaseEpochs), "inst", "Raw or Epochs")
    found = get_roles(inst)
    if roles is not None and check_roles(roles) != found:
        raise ValueError(
            f"Expected roles {tuple(roles)}, but the channel names hold roles {found} "
            "(in order of first appearance; reorder with inst.reorder_channels)."
        )
    if isinstance(inst, (DyadRaw, DyadEpochs)):
        return inst
    check_two_roles(found)  # before copying any data
    if isinstance(inst, mne.io.BaseRaw):
        out = DyadRaw(inst.get_data(), inst.info, first_samp=inst.first_samp)
        out.set_annotations(inst.annotations)
    else:
        if not inst.preload:
            inst = inst.copy().load_data()
        out = _epochs_like(DyadEpochs, inst.get_data(), inst.info, inst)
    return set_dyad_meta(out, roles=list(found))


def _read(reader, fname, verbose):
    inst = reader(fname, preload=True, verbose=verbose)
    try:
        check_two_roles(get_roles(inst))
    except ValueError as err:
        raise ValueError(f"{fname} holds no dyad: {err}") from None
    return as_dyad(inst)


@verbose
def read_dyad_fif(fname, verbose=None):
    """Read a :class:`DyadRaw` saved with ``raw.save`` (a ``*_raw.fif`` file).

    Parameters
    ----------
    fname : path-like
        The FIF file.
    %(verbose)s

    Returns
    -------
    raw : DyadRaw
        The dyad, loaded into memory.

    Examples
    --------
    >>> raw, truth = hs.simulate_dyad(duration=10.0, sfreq=100.0, roles=("therapist", "client"),
    ...                               seed=0)
    >>> fname = raw.save("dyad_raw.fif")[0]     # MNE returns the files it wrote
    >>> back = hs.read_dyad_fif(fname)
    >>> back.roles, len(back.ch_names), back.n_times
    (('therapist', 'client'), 64, 1000)
    """
    return _read(mne.io.read_raw_fif, fname, verbose)


@verbose
def read_dyad_epochs(fname, verbose=None):
    """Read a :class:`DyadEpochs` saved with ``epochs.save`` (a ``*-epo.fif`` file).

    Parameters
    ----------
    fname : path-like
        The FIF file.
    %(verbose)s

    Returns
    -------
    epochs : DyadEpochs
        The dyad, loaded into memory.
    """
    return _read(mne.read_epochs, fname, verbose)


def read_dyad_raw(fname, verbose=None):
    """Read a dyad: deprecated alias of :func:`read_dyad_fif` (it warns; will be removed).

    ``read_dyad_fif`` reads a dyad saved as one FIF file;
    :func:`hyperinsync.io.read_dyad_files` reads two recordings, one per person.

    Parameters
    ----------
    fname : path-like
        The FIF file.
    verbose : bool | str | int | None
        As in MNE.

    Returns
    -------
    raw : DyadRaw
    """
    warn(
        "hyperinsync.read_dyad_raw is deprecated and will be removed: use "
        "hyperinsync.read_dyad_fif (one saved FIF file); hyperinsync.io.read_dyad_files "
        "reads two recordings, one per person.",
        category=FutureWarning,
    )
    return read_dyad_fif(fname, verbose=verbose)
