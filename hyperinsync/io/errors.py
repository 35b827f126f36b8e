"""Exceptions shared by the dyad readers in :mod:`hyperinsync.io`.

All of them derive from :class:`ValueError` so that code catching the generic error of a
bad input keeps working; catch the specific class to tell a bad file from a bad alignment.
"""


class DyadIOError(ValueError):
    """A recording cannot be read or turned into a dyad (the message names the file).

    Examples
    --------
    >>> open("empty.edf", "w").close()
    >>> try:
    ...     hs.io.read_recording("empty.edf")
    ... except hs.io.DyadIOError as err:
    ...     print(err)
    Recording empty.edf is an empty file.
    """


class AlignmentError(DyadIOError):
    """Two recordings cannot be put on one timeline with the requested accuracy.

    Examples
    --------
    Pulses every 2 s cannot fix the offset between two files beyond their period:

    >>> import mne
    >>> data = np.zeros((2, 3000))
    >>> data[0] = np.random.default_rng(0).normal(0, 1e-5, 3000)
    >>> data[1, 200::200] = 1                                      # a pulse every 2 s
    >>> info = mne.create_info(["Fz", "STI"], 100.0, ["eeg", "stim"])
    >>> for name in ("a_raw.fif", "b_raw.fif"):
    ...     _ = mne.io.RawArray(data, info).save(name)
    >>> try:
    ...     hs.io.read_dyad_files("a_raw.fif", "b_raw.fif")
    ... except hs.io.AlignmentError as err:
    ...     print(str(err)[:46])
    Cannot match sync pulses unambiguously: 14 in
    """


class XDFError(DyadIOError):
    """An XDF file is missing, truncated, corrupt, or lacks the requested streams.

    Examples
    --------
    >>> _ = open("notes.xdf", "w").write("session notes")
    >>> try:
    ...     hs.io.read_raw_xdf("notes.xdf")
    ... except hs.io.XDFError as err:
    ...     print(err)
    notes.xdf is not an XDF file (it does not start with 'XDF:').
    """


class SplitError(DyadIOError):
    """The channels of one recording cannot be assigned to the two participants.

    Examples
    --------
    >>> import mne
    >>> raw = mne.io.RawArray(np.zeros((2, 100)), mne.create_info(["Fz_1", "Fz_2"], 100.0, "eeg"))
    >>> try:
    ...     hs.io.split_dyad(raw, pattern=r"(?P<role>[12])-(?P<name>.+)")   # no channel matches
    ... except hs.io.SplitError as err:
    ...     print(err)
    <in-memory Raw of the recording>: pattern '(?P<role>[12])-(?P<name>.+)' finds the
    role texts []; need exactly two, or pass role_map={text: role}.
    """


class PhysioIOError(DyadIOError):
    """A physiological or motion-energy file that cannot be read as it is.

    The message says why and where.

    Examples
    --------
    Time stamps that drift off the stated rate are refused, with the rate they show:

    >>> np.savetxt("eda.csv", np.c_[np.arange(40) / 4.2, np.ones(40)], fmt="%.4f",
    ...            delimiter=",", header="time,EDA", comments="")
    >>> try:
    ...     hs.io.read_raw_physio_csv("eda.csv", sfreq=4.0)
    ... except hs.io.PhysioIOError as err:
    ...     print(err)
    eda.csv: the time stamps are off a regular 4 Hz grid by up to 0.93 samples (row 1, 0.000 s),
    more than jitter_tolerance=0.25 sample(s); they show a rate of 4.20001 Hz, +50003 ppm from
    4 Hz. Either the device clock drifts against the stamping clock or the rate is not 4 Hz:
    omit sfreq= to use the rate the stamps show, or raise jitter_tolerance to place each sample
    at its nearest grid point.
    """
