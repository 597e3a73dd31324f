"""fusesat domain package: spec, loading, cost model, referee, public API."""

__version__ = "0.1.0"
