//! The Overturn HTTP API and the `overturn` binary's commands.

pub mod allocator;
pub mod auth;
pub mod claim_writer;
pub mod cli;
pub mod code_catalog;
pub mod configuration;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod remittance_store;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
