"""Vocabulary: layers, accelerators, problems, mappings, fused groups, task graphs, results (no formulas, no I/O)."""
