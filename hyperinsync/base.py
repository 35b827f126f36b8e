"""What every hyperinsync result shares: :class:`BaseResult`.

Every result object (:class:`~hyperinsync.SyncResult`,
:class:`~hyperinsync.stats.SurrogateResult`, the In-Sync results, the group results) has:

- ``labels``: ``{axis: [labels]}``, the names along the axes of its values (measures, bands,
  channel or ROI pairs, segments, dyads, features, ...);
- ``params``: how it was computed (a JSON-able dict);
- ``get_data(...)``: the one getter, picking values by label (:meth:`BaseResult.get_data`);
- ``to_table()``: a tidy :class:`pandas.DataFrame`, one row per value;
- ``to_dict()`` / ``from_dict(d)``: plain arrays and JSON-able data, as stored in results
  files; ``from_dict`` also reads what earlier versions stored;
- equality by content (arrays compared with NaN equal to NaN).

A new result class derives from :class:`BaseResult`, names its stored attributes in
``_FIELDS`` (those left out of ``to_dict`` when ``None`` in ``_OPTIONAL``; renamed keys of
stored ``params`` in ``_RENAMED_PARAMS``), defines :attr:`~BaseResult.labels`, ``get_data``
(picking by label with ``_pick``) and ``to_table`` (a DataFrame, through
``hyperinsync._utils.as_table``), and gets one entry in
``hyperinsync.study.results.RESULT_CLASSES`` when studies store it.
"""

from __future__ import annotations

import numpy as np

from ._utils import warn


def _same(a, b):
    """Equality of stored values: arrays with NaN == NaN, containers element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind in "fciub" and b.dtype.kind in "fciub":
            return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
        return a.shape == b.shape and bool(np.all(a == b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def label_index(axis, label, labels):
    """Return the position of ``label`` among ``labels``, the names along one axis of a result.

    Parameters
    ----------
    axis : str
        What the labels name (``'measure'``, ``'band'``, ...), for the messages.
    label : object | None
        The label to find; ``None`` picks the only label there is.
    labels : list
        The labels.

    Returns
    -------
    index : int
        The position of ``label`` in ``labels``.

    Raises
    ------
    ValueError
        ``label`` is not among ``labels`` (they are listed), or is ``None`` while there are
        several (the message says which argument chooses one).

    Examples
    --------
    >>> from hyperinsync.base import label_index
    >>> label_index("band", "alpha", ["theta", "alpha"])
    1
    >>> label_index("band", "beta", ["theta", "alpha"])
    Traceback (most recent call last):
    ...
    ValueError: band 'beta' is not in this result: ['theta', 'alpha'].
    """
    labels = list(labels)
    if label is None:
        if len(labels) != 1:
            raise ValueError(
                f"This result holds several {axis}s ({labels}): choose one with {axis}=..."
            )
        return 0
    if label not in labels:
        raise ValueError(f"{axis} {label!r} is not in this result: {labels}.")
    return labels.index(label)


class BaseResult:
    """The base of every hyperinsync result (see the module docstring for the contract).

    Attributes
    ----------
    labels : dict
        ``{axis: [labels]}``: the names along the axes of the values.
    params : dict
        How the result was computed.

    Examples
    --------
    Every result offers the same interface, here a :class:`~hyperinsync.SyncResult`:

    >>> from hyperinsync.base import BaseResult
    >>> raw, truth = hs.simulate_dyad(duration=10.0, sfreq=100.0, seed=0)
    >>> res = hs.compute_sync(raw, bands={"alpha": (8, 13)})
    >>> isinstance(res, BaseResult), list(res.labels)
    (True, ['measure', 'band', 'row', 'col'])
    >>> res.get_data("plv", "alpha").shape == res.get_data().shape     # one band: optional
    True
    >>> again = type(res).from_dict(res.to_dict())       # what results files store
    >>> np.array_equal(again.get_data(), res.get_data())
    True
    """

    # attributes stored by to_dict, in order (the constructor's keyword arguments)
    _FIELDS = ()
    # of those, the ones left out of to_dict when None
    _OPTIONAL = ()
    # stored names of earlier versions: {old key in params: current key}
    _RENAMED_PARAMS = {}

    @property
    def labels(self):
        """``{axis: [labels]}``: the names along the axes of the values."""
        raise NotImplementedError

    # -- picking ----------------------------------------------------------------------------
    def _pick(self, axis, value, *, keep=False):
        """Return the position of label ``value`` on ``axis``.

        ``None`` picks the only label of the axis (an error names the labels when there are
        several) or, with ``keep``, the whole axis (``slice(None)``).
        """
        if value is None and keep:
            return slice(None)
        return label_index(axis, value, self.labels[axis])

    @staticmethod
    def _kind(kind, kinds):
        if kind not in kinds:
            raise ValueError(f"kind must be one of {list(kinds)}, got {kind!r}.")
        return kind

    def get_data(self, *args, **kwargs):
        """Return values as an array, picked by label (see the subclass).

        Parameters
        ----------
        *args, **kwargs
            The labels to pick along the result's axes (``labels``), and the kind of values.

        Returns
        -------
        data : ndarray
            The values picked.
        """
        raise NotImplementedError

    def to_table(self):
        """Tidy table of the values (see the subclass)."""
        raise NotImplementedError

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self):
        """Return plain arrays and JSON-able attributes (see :meth:`from_dict`).

        Returns
        -------
        d : dict
            The attributes named by the class, tuples as lists (``bands``: lists of edges).
        """
        out = {}
        for key in self._FIELDS:
            value = getattr(self, key)
            if value is None and key in self._OPTIONAL:
                continue
            if key == "bands":
                value = {k: list(v) for k, v in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out

    @classmethod
    def from_dict(cls, d):
        """Rebuild a result from :meth:`to_dict` output, also as earlier versions stored it.

        Parameters
        ----------
        d : dict
            The stored result.

        Returns
        -------
        result : BaseResult
            An instance of the class it is called on.
        """
        return cls(**cls._upgrade(dict(d)))

    @classmethod
    def _upgrade(cls, d):
        """``d`` as the current version stores it (renamed ``params`` keys)."""
        params = d.get("params")
        if isinstance(params, dict) and any(k in params for k in cls._RENAMED_PARAMS):
            params = dict(params)
            for old, new in cls._RENAMED_PARAMS.items():
                if old in params:
                    value = params.pop(old)
                    params.setdefault(new, value)
            d["params"] = params
        return d

    def __eq__(self, other):
        """Compare the stored fields (``to_dict``) of two results of the same class."""
        if type(other) is not type(self):
            return NotImplemented
        return _same(self.to_dict(), other.to_dict())

    def __ne__(self, other):
        """Negate ``==`` (explicit: a dict subclass would inherit dict's ``!=``)."""
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None


def deprecated_getter(old, new):
    """Warn that the getter ``old`` is deprecated in favour of ``new`` (a FutureWarning)."""
    warn(f"{old} is deprecated and will be removed: use {new}.", category=FutureWarning)
