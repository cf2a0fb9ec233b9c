//! How much one statement may carry.

/// Bound parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
pub(super) const MAX_PARAMS: usize = 30_000;

/// Rows of `columns` columns that one statement may carry.
pub(super) fn rows_per_statement(columns: usize) -> usize {
    (MAX_PARAMS / columns.max(1)).max(1)
}
