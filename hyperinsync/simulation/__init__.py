"""Simulated dyads and studies with known ground truth.

- :mod:`~hyperinsync.simulation.eeg` -- :func:`simulate_dyad`: one two-person EEG recording
  and its :class:`SimulationTruth` (the model is described there);
- :mod:`~hyperinsync.simulation.study` -- :func:`simulate_study`: a whole study (groups,
  sessions, questionnaires) whose recordings are made lazily;
- :mod:`~hyperinsync.simulation.design` -- :class:`Coupling` and the checks of a design;
- :mod:`~hyperinsync.simulation.sources` -- the simulated signals and artifacts;
- :mod:`~hyperinsync.simulation.physio` -- :func:`simulate_physio_dyad` (EDA, heart rate or
  ECG, motion energy with planted coupling, lead/lag, phase and episodes) and
  :func:`simulate_physio_study` (sessions whose alliance depends on segment synchrony).
"""

from .design import Coupling, SimulationTruth
from .eeg import simulate_dyad
from .physio import (
    PhysioCoupling,
    PhysioTruth,
    SimulatedPhysioStudy,
    simulate_physio_dyad,
    simulate_physio_study,
)
from .study import DEFAULT_GROUPS, SimulatedStudy, simulate_study

__all__ = [
    "Coupling",
    "DEFAULT_GROUPS",
    "PhysioCoupling",
    "PhysioTruth",
    "SimulatedPhysioStudy",
    "SimulatedStudy",
    "SimulationTruth",
    "simulate_dyad",
    "simulate_physio_dyad",
    "simulate_physio_study",
    "simulate_study",
]
