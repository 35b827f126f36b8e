"""The results of the group-level tests.

:func:`group_contrast`, :func:`correlation_test`, :func:`mixed_model`.

Each is a ``dict`` of its numbers (as these functions always returned, so ``res['p_perm']``
keeps working and results files store them as before) that is also a
:class:`hyperinsync.base.BaseResult`: ``labels``, ``params``, ``get_data``, ``to_table``
(a :class:`pandas.DataFrame`, one row per feature or model term), ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import numpy as np

from .._docs import fill_doc
from .._utils import as_table
from ..base import BaseResult


class GroupResult(BaseResult, dict):
    """A group-level test's numbers (a dict) with the shared result interface.

    Values are per *feature* (the trailing axes of the tested values, e.g. segment x band x
    ROI pair in a study): ``labels['feature']`` names them (the study's
    ``segment/measure/band/roi`` labels, stored under ``'labels'``, or else their flat
    positions in C order).

    Examples
    --------
    Every group test returns one (here :func:`hyperinsync.stats.group_contrast`):

    >>> rng = np.random.default_rng(0)
    >>> values = rng.normal([[0.3, 0.2]] * 6 + [[0.2, 0.2]] * 6, 0.05)   # 12 dyads x 2 features
    >>> groups = ["mindful"] * 6 + ["non-mindful"] * 6
    >>> res = hs.stats.group_contrast(values, groups, n_permutations=999, seed=0)
    >>> res.labels["feature"], res.get_data(kind="p_perm").round(3)
    ([0, 1], array([0.002, 0.618]))
    >>> res.to_table()[["feature", "F", "p_perm"]].round(3)
       feature       F  p_perm
    0        0  29.807   0.002
    1        1   0.284   0.618
    """

    # keys holding one value per feature ("feature"), per feature with a trailing
    # (lower, upper) axis ("interval") or per group and feature ("group")
    _KINDS = {}
    # keys that describe how the test was run
    _PARAMS = ()
    _MAIN = "p_perm"

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
        n = len(self.labels["feature"])
        return f"<{type(self).__name__} | {n} feature(s) | {self.params}>"

    @property
    def params(self):
        """How the test was run (correction, family size, interval level, ...)."""
        return {k: self[k] for k in self._PARAMS if k in self}

    @property
    def _shape(self):
        return np.shape(self[self._MAIN])

    @property
    def labels(self):
        """``{'feature': [...]}``: the features (see the class docstring)."""
        n = int(np.prod(self._shape))
        if self.get("labels") is not None:
            return dict(feature=[str(x) for x in np.asarray(self["labels"]).ravel()])
        return dict(feature=list(range(n)))

    @property
    def kinds(self):
        """The keys :meth:`get_data` returns (those this result holds)."""
        return tuple(k for k in self._KINDS if self.get(k) is not None)

    def get_data(self, feature=None, *, kind=None):
        """Return one kind of value, of every feature or of one.

        Parameters
        ----------
        feature : str | int | None
            A label of ``labels['feature']``; ``None``: all.
        kind : str | None
            A key of the result holding per-feature values (:attr:`kinds`); ``None``: the
            permutation p (``'p_perm'``).

        Returns
        -------
        values : ndarray
            Shaped like the features (``()`` for one), with a trailing (lower, upper) axis
            for intervals and a leading group axis for ``'means'``; the values of one
            feature when ``feature`` is given.
        """
        kind = self._MAIN if kind is None else kind
        self._kind(kind, self.kinds)
        layout = self._KINDS[kind]
        values = np.asarray(self[kind], dtype=float)
        if feature is None:
            return values
        n = int(np.prod(self._shape))
        i = self._pick("feature", feature)
        if layout == "group":
            return values.reshape(values.shape[0], n)[:, i]
        if layout == "interval":
            return values.reshape(n, 2)[i]
        return values.reshape(n)[i]

    def to_table(self):
        """One row per feature: its label and every per-feature value.

        Returns
        -------
        table : pandas.DataFrame
            Column ``feature``, then one column per value (intervals as ``<key>_low`` and
            ``<key>_high``; group means as ``mean_<group>``).
        """
        feats = self.labels["feature"]
        cols = {}
        for kind in self.kinds:
            layout = self._KINDS[kind]
            values = [self.get_data(f, kind=kind) for f in feats]
            if layout == "interval":
                cols[f"{kind}_low"] = [float(v[0]) for v in values]
                cols[f"{kind}_high"] = [float(v[1]) for v in values]
            elif layout == "group":
                for g, name in enumerate(self["groups"]):
                    cols[f"mean_{name}"] = [float(v[g]) for v in values]
            else:
                cols[kind] = [float(v) for v in values]
        rows = [dict(feature=f, **{k: v[j] for k, v in cols.items()}) for j, f in enumerate(feats)]
        return as_table(rows, ["feature"])

    def to_dict(self):
        """Return the numbers as a plain dict (see :meth:`from_dict`).

        Returns
        -------
        d : dict
            The result's keys and values.
        """
        return dict(self)

    @classmethod
    def from_dict(cls, d):
        """Rebuild a result from :meth:`to_dict` output.

        Parameters
        ----------
        d : dict
            :meth:`to_dict` output, or a plain dict stored by earlier versions (when these
            functions returned dicts).

        Returns
        -------
        result : GroupResult
            A result of the class this is called on.
        """
        return cls(d)


class ContrastResult(GroupResult):
    """The result of :func:`hyperinsync.stats.group_contrast` (a dict; keys there).

    ``labels`` also has ``'group'``: the group labels, in the order of ``means``.
    """

    _KINDS = dict(
        F="feature",
        p="feature",
        eta_sq_partial="feature",
        eta_sq_partial_ci="interval",
        F_welch="feature",
        df_welch_den="feature",
        p_welch="feature",
        p_perm="feature",
        p_corrected="feature",
        t="feature",
        p_t="feature",
        diff="feature",
        diff_ci="interval",
        d="feature",
        d_ci="interval",
        means="group",
    )
    _PARAMS = ("statistic", "correction", "n_tests", "ci", "df", "feature", "family")

    @property
    def labels(self):
        """``{'group': [...], 'feature': [...]}``."""
        return dict(group=[str(g) for g in np.asarray(self["groups"]).ravel()], **super().labels)


class CorrelationResult(GroupResult):
    """The result of :func:`hyperinsync.stats.correlation_test` (a dict; keys there)."""

    _KINDS = dict(
        r="feature",
        r_ci="interval",
        p_perm="feature",
        p_parametric="feature",
        p_corrected="feature",
        p_fdr="feature",
    )
    _PARAMS = ("method", "correction", "n_tests", "n", "n_permutations", "ci", "feature", "family")


@fill_doc
class MixedModelResult(GroupResult):
    """The result of :func:`hyperinsync.stats.mixed_model` (a dict; keys there).

    Its values are per model *term* (``labels['term']``); :meth:`to_table` is the table of
    terms and :meth:`coefficient_table` that of the fixed coefficients.

    Examples
    --------
    %(example_mixed_design)s
    >>> fit.labels["term"]
    ['group', 'segment', 'group x segment']
    >>> fit.get_data("group x segment", kind="eta_sq_partial").round(2)
    0.79
    """

    _KINDS = dict(
        F="term",
        df1="term",
        df2="term",
        p="term",
        eta_sq_partial="term",
        eta_sq_partial_ci_low="term",
        eta_sq_partial_ci_high="term",
    )
    _PARAMS = (
        "formula",
        "method",
        "within",
        "n_subjects",
        "n_obs",
        "converged",
        "pooled",
        "boundary",
        "ci",
        "feature",
    )

    def __repr__(self):
        """Return the one-line summary that ``repr()`` shows."""
        return f"<MixedModelResult | {len(self['terms'])} term(s) | {self.get('formula')}>"

    @property
    def labels(self):
        """``{'term': [...]}``: the model terms, in table order."""
        return dict(term=[t["term"] for t in self["terms"]])

    @property
    def kinds(self):
        """The columns :meth:`get_data` returns."""
        return tuple(self._KINDS)

    def get_data(self, term=None, *, kind="p"):
        """Return one column of the term table, of every term or of one.

        Parameters
        ----------
        term : str | None
            A model term (``labels['term']``); ``None``: all.
        kind : str
            ``'F'``, ``'df1'``, ``'df2'``, ``'p'``, ``'eta_sq_partial'``,
            ``'eta_sq_partial_ci_low'`` or ``'eta_sq_partial_ci_high'``.

        Returns
        -------
        values : ndarray, shape (n_terms,)
            A 0-d array when ``term`` is given.
        """
        self._kind(kind, self.kinds)
        i = self._pick("term", term, keep=True)
        return np.array([float(t[kind]) for t in self["terms"]])[i]

    def to_table(self):
        """One row per model term (``term``, ``F``, ``df1``, ``df2``, ``p``, ...).

        Returns
        -------
        table : pandas.DataFrame
            One row per model term.
        """
        return as_table(self["terms"], ("term",) + tuple(self._KINDS))

    def coefficient_table(self):
        """One row per fixed coefficient (``name``, ``estimate``, ``se``, ...).

        Returns
        -------
        table : pandas.DataFrame
            One row per fixed coefficient.
        """
        return as_table(self["coefficients"], ("name", "estimate", "se"))
