//! sea-orm models, one module per table. Behaviour lives elsewhere (`domain`, `api`).
//!
//! Money columns are integer cents (`*_cents`): exact on SQLite and PostgreSQL alike.

pub mod api_key;
pub mod claim;
pub mod claim_line;
pub mod idempotency_key;
