"""Studies: the description of many dyads and sessions, the runner, the group step, the results.

- :mod:`~hyperinsync.study.config` -- :class:`Study`, built from
  :mod:`~hyperinsync.study.schema` (the study file's sections and keys, their types,
  defaults and meaning, versioned), :mod:`~hyperinsync.study.checks` (the schema applied,
  errors, value checks) and :mod:`~hyperinsync.study.recordings` (sources and files);
- :mod:`~hyperinsync.study.recording` -- one recording read (or simulated) and analysed;
- :mod:`~hyperinsync.study.runner` -- the recordings' parallel execution and commits,
  with :mod:`~hyperinsync.study.cache` (what makes a part reusable; the output lock);
- :mod:`~hyperinsync.study.group` -- the group statistics;
- :mod:`~hyperinsync.study.results` -- the results file (:func:`read_results`), stored through
  :mod:`~hyperinsync.study.h5` and :mod:`~hyperinsync.study.parts`;
- :mod:`~hyperinsync.study.report` -- the HTML report, with its group sections in
  :mod:`~hyperinsync.study.report_group`, those of ``[physio]`` / ``[movement]`` in
  :mod:`~hyperinsync.study.report_physio` and its building blocks in
  :mod:`~hyperinsync.study.report_html`.
"""

from .cache import LOCK_NAME, lock_output
from .checks import RecordingError, StudyError
from .config import Study, example_study_toml
from .group import FEATURES
from .h5 import OlderFormatError, ResultsError
from .report import make_report
from .results import Results, describe_results, failure_line, read_results

__all__ = [
    "FEATURES",
    "LOCK_NAME",
    "OlderFormatError",
    "RecordingError",
    "Results",
    "ResultsError",
    "Study",
    "StudyError",
    "describe_results",
    "example_study_toml",
    "failure_line",
    "lock_output",
    "make_report",
    "read_results",
]
