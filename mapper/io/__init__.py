"""Input: YAML problem, accelerator and network files with one-line errors, ONNX import, the bundled library."""
