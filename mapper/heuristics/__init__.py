"""Heuristic mappers and schedulers: baselines for comparisons and CP-SAT hints."""
