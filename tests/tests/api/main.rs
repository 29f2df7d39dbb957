//! End-to-end tests: the real application over HTTP on loopback, against real SQLite and
//! real PostgreSQL. One binary for all of them keeps CI's link time down.

mod helpers;

mod acknowledgments;
mod api_keys;
mod architecture;
mod audit;
mod binary;
mod claim_fields;
mod claim_files;
mod claims;
mod contacts;
mod corrections;
mod denials;
mod due_now;
mod followups;
mod fuzz;
mod idempotency;
mod inquiries;
mod patients;
mod payer_key;
mod python;
mod receiver;
mod rejections;
mod remittances;
mod schema;
mod scrubbing;
mod service;
mod webhook_client;
mod workers;
