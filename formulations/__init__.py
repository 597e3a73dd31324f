"""CP-SAT model builders. The only package that imports ortools."""
