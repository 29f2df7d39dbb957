//! The HTTP edge of Overturn: routes, extractors, request and response types, the OpenAPI
//! document, and the one mapping from service errors to problem+json. Every transaction
//! and storage rule it needs is in `overturn-service`.

pub mod audit;
pub mod auth;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod routes;
pub mod startup;
pub mod state;
