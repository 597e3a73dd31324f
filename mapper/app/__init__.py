"""The user-facing applications: the fusesat CLI, terminal rendering, plots, exports, batches."""
