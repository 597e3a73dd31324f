"""The public API: solve a problem of any mode with its proof, partitions, comparisons."""
