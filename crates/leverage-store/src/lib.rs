//! Durable source of truth: SQLite (WAL), migrations, import of the embedded dataset.
