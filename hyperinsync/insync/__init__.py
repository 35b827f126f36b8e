r"""In-Sync model findings: Level 1 windows, Level 2 segments, Level 3 sessions.

The In-Sync model of psychotherapy (Koole & Tschacher, 2016) describes synchrony on three
time scales. This sub-package turns a dyad's recording (a :class:`~hyperinsync.dyad.DyadRaw` or any
MNE ``Raw`` whose channel names are ``'<role>:<channel>'``) into findings on each:

- **Level 1, phasic (0.3-10 s)** -- :func:`level1`: sliding-window synchrony per band and ROI
  pair of one segment; windows rising above the segment's own tonic level (tested against
  block shuffles of the coupling, one max-statistic over windows, ROI pairs and bands) become
  *episodes* (``mne.Annotations`` described ``insync/L1/<band>/<roiA>-<roiB>``) with their
  lead-lag and phase relation and confidence intervals; synchrony above chance (a
  circular-shift null) is a separate result.
- **Level 2, tonic (10 s to ~1 h)** -- :func:`level2`: synchrony per annotated segment (e.g.
  ``rest_pre``, ``session``, ``rest_post``) and per fixed block, with surrogate z and p,
  changes between segments, and (:func:`correlate_with_questionnaire`) links to per-dyad
  questionnaire scores across a study. Significant segments are annotated
  ``insync/L2/<band>/<roiA>-<roiB>``.
- **Level 3, chronic (weeks to years)** -- :func:`level3`: per-session synchrony of each dyad,
  its trend per session and per week with a permutation test of session order.

:func:`annotate` adds the annotations of any results to the recording; they are ordinary MNE
annotations, so they show in ``raw.plot()`` and survive ``raw.save`` and
:func:`hyperinsync.dyad.read_dyad_fif`.

Modules: :mod:`~hyperinsync.insync.windows` (the window engine: window sums of the
formulas of :mod:`hyperinsync.sync.measures`), :mod:`~hyperinsync.insync.level1` (with
:mod:`~hyperinsync.insync.episodes`), :mod:`~hyperinsync.insync.level2`,
:mod:`~hyperinsync.insync.level3`, :mod:`~hyperinsync.insync.annotate`, and the result
classes in :mod:`~hyperinsync.insync.results`.
"""

from .._utils import INSYNC_PREFIX as PREFIX
from .annotate import annotate
from .level1 import level1
from .level2 import level2
from .level3 import InSyncLevel3, correlate_with_questionnaire, level3
from .results import InSyncLevel1, InSyncLevel2

__all__ = [
    "InSyncLevel1",
    "InSyncLevel2",
    "InSyncLevel3",
    "PREFIX",
    "annotate",
    "correlate_with_questionnaire",
    "level1",
    "level2",
    "level3",
]
