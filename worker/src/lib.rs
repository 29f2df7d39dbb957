//! Background work: the job queue, the outbox relay that feeds it, the job handlers
//! (classification first; follow-ups and webhook delivery join them), and periodic upkeep.

pub mod classify;
pub mod delivery;
pub mod events;
pub mod jobs;
pub mod maintenance;
pub mod queue;
pub mod relay;
pub mod sql;
pub mod webhook_client;
