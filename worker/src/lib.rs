//! Background work. Job handlers (classification, follow-ups, webhook delivery) join this
//! crate with the queue; for now it holds the periodic upkeep that any worker replica runs.

pub mod maintenance;
