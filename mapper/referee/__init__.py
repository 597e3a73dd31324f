"""The referee: schedule IR, simulator and functional executor (never imports a formulation)."""
