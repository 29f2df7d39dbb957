//! The queue edge: apalis adapters for the job queue, the relay that feeds it from the
//! database, and job handlers that call `overturn-service`.

pub mod due_now;
pub mod jobs;
pub mod maintenance;
pub mod queue;
pub mod relay;
pub mod startup;
