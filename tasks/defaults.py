"""Statistical defaults shared by every layer, in a module that imports nothing (the command line reads
them before any heavy library is loaded)."""

#: Bootstrap resamples behind every score's confidence interval (``--bootstrap``).
DEFAULT_RESAMPLES = 1000
#: The confidence level of every interval.
CONFIDENCE = 0.95
