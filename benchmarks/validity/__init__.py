"""Scenario modules of the validation study (run by ``benchmarks/validity.py``).

Each module ``validity/<area>.py`` defines::

    def run(n_rep, seed, quick=False):
        '''Return a list of Row (see ``validity.common``).'''

``n_rep`` is the number of null replications the driver asks for (power curves may use
fewer, saying how many in ``Row.n``); ``quick=True`` shrinks sizes so that the reduced study
in the test suite takes seconds. Every row reports a count ``k`` out of ``n`` replications,
and the driver adds the binomial 95 % confidence interval and checks the target.
"""
