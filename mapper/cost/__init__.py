"""The cost model of every mode, in exact integers: the executable specification (DESIGN 4)."""
