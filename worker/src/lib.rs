//! Background work: the job queue, the outbox relay that feeds it, the job handlers
//! (classification, follow-ups, webhook delivery), and periodic upkeep.

pub mod batch;
pub mod classify;
pub mod delivery;
pub mod events;
pub mod followups;
pub mod jobs;
pub mod maintenance;
pub mod queue;
pub mod relay;
pub mod sql;
pub mod webhook_client;
