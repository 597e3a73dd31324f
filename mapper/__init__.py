"""fusesat: provably optimal mappings and schedules of CNN layers on dataflow accelerators.

Subpackages by role, imports pointing down: core, io, cost, referee,
heuristics, (formulations, a top-level package), solve, app.
"""

__version__ = "0.1.0"
