"""Repositories of the exchange, one module per aggregate: what the use cases of ``service/exchange/`` and the
``db://`` bus store and read, written once here in SQLAlchemy Core (and, where a dialect needs its own statement,
both variants side by side in the one module, chosen once when the repository is built)."""
