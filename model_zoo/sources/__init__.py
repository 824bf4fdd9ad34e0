"""Builders, one module per source of models. Each exposes ``names()`` and ``build(...)``."""
