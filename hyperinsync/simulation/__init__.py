"""Simulated dyads and studies with known ground truth.

- :mod:`~hyperinsync.simulation.eeg` -- :func:`simulate_dyad`: one two-person EEG recording
  and its :class:`SimulationTruth` (the model is described there);
- :mod:`~hyperinsync.simulation.study` -- :func:`simulate_study`: a whole study (groups,
  sessions, questionnaires) whose recordings are made lazily;
- :mod:`~hyperinsync.simulation.design` -- :class:`Coupling` and the checks of a design;
- :mod:`~hyperinsync.simulation.sources` -- the simulated signals and artifacts.
"""

from .design import Coupling, SimulationTruth
from .eeg import simulate_dyad
from .study import DEFAULT_GROUPS, SimulatedStudy, simulate_study

__all__ = [
    "Coupling",
    "DEFAULT_GROUPS",
    "SimulatedStudy",
    "SimulationTruth",
    "simulate_dyad",
    "simulate_study",
]
