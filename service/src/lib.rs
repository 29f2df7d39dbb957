//! The application layer: every database transaction and every rule that touches storage,
//! organised by capability. The HTTP edge (`overturn-api`) and the queue edge
//! (`overturn-worker`) both call it; it knows neither. `overturn-domain` holds the pure rules
//! it applies.

pub mod acknowledgments;
pub mod analytics;
pub mod audit;
pub mod backlog;
pub mod batch;
pub mod claim_files;
pub mod claim_writer;
pub mod claims;
pub mod classify;
pub mod code_catalog;
pub mod configuration;
pub mod contacts;
pub mod corrections;
pub mod db;
pub mod delivery;
pub mod denials;
pub mod due;
pub mod events;
pub mod followups;
pub mod idempotency;
pub mod jobs;
pub mod keys;
pub mod maintenance;
pub mod outbox;
pub mod patient_sessions;
pub mod patients;
pub mod payers;
pub mod payment_detail;
pub mod priorities;
pub mod queue;
pub mod remittance_store;
pub mod remittances;
pub mod scrubbing;
pub mod sql;
pub mod webhook_client;
pub mod worklist;
