"""Persistence, framework-free.

Owns the object-store port (filesystem, later S3/MinIO), the SQLAlchemy models and repositories, and the Alembic
migrations. Blobs are addressed by their SHA-256 and written before the transaction that references them.
"""
