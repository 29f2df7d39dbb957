//! The `overturn` program: its commands, and the composition root that wires the HTTP edge
//! (`overturn-api`) and the queue edge (`overturn-worker`) to one database and one queue.

pub mod allocator;
pub mod cli;
pub mod startup;
pub mod telemetry;
