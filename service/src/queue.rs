//! The queue as the application sees it: a job, and what relays and handlers need from a
//! queue. The adapters (apalis on Redis or on an embedded SQLite file) live in the worker
//! crate; this crate never names them.
//!
//! The queue is a bounded transport, not the record: what must happen is in the database
//! (the outbox, follow-ups and deliveries due, remittances not yet classified), and the
//! relay hands it over in chunks while the queue is shallow.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One unit of work. `id` stays the same across attempts (it is the outbox row's id), so a
/// handler can recognise a job it has seen.
///
/// Serialized as `{"id", "topic", "payload", "attempt"}`, the form jobs have always had on
/// the queue, so jobs queued by an older process still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    #[serde(flatten)]
    pub task: Task,
    /// 0 for the first attempt.
    #[serde(default)]
    pub attempt: u32,
}

impl Job {
    /// A job's first attempt.
    pub fn new(task: Task) -> Self {
        Self { id: Uuid::now_v7(), task, attempt: 0 }
    }
}

/// What a job does. The topic and payload are also the outbox's and the dead-job list's
/// columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "topic", content = "payload", rename_all = "snake_case")]
pub enum Task {
    /// Classify the denials of a stored remittance, and send its events.
    ClassifyRemittance { remittance_id: Uuid },
    /// Plan the follow-ups of a classified remittance.
    #[serde(rename = "plan_followups")]
    PlanFollowUps { remittance_id: Uuid },
    /// Fire these follow-ups if they are still scheduled and due.
    #[serde(rename = "fire_followups")]
    FireFollowUps { follow_up_ids: Vec<Uuid> },
    /// Make this attempt of a webhook delivery, if the delivery still expects it.
    DeliverWebhook { delivery_id: Uuid, attempt: u32 },
    /// Apply the acknowledgments whose claims have arrived since they came.
    ApplyAcknowledgments {},
}

/// A topic and payload that name no task this version knows.
#[derive(Debug, thiserror::Error)]
#[error("not a job this version runs: {0}")]
pub struct UnknownTask(String);

impl Task {
    /// Reads a task from its stored topic and payload.
    pub fn from_parts(topic: &str, payload: serde_json::Value) -> Result<Self, UnknownTask> {
        serde_json::from_value(serde_json::json!({ "topic": topic, "payload": payload }))
            .map_err(|e| UnknownTask(format!("{topic}: {e}")))
    }

    pub fn topic(&self) -> &'static str {
        match self {
            Self::ClassifyRemittance { .. } => "classify_remittance",
            Self::PlanFollowUps { .. } => "plan_followups",
            Self::FireFollowUps { .. } => "fire_followups",
            Self::DeliverWebhook { .. } => "deliver_webhook",
            Self::ApplyAcknowledgments {} => "apply_acknowledgments",
        }
    }

    pub fn payload(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => map.remove("payload").unwrap_or_default(),
            _ => serde_json::Value::Null,
        }
    }

    /// The record the job is about, shown on the dead-job list.
    pub fn subject_id(&self) -> Option<Uuid> {
        match self {
            Self::ClassifyRemittance { remittance_id } | Self::PlanFollowUps { remittance_id } => Some(*remittance_id),
            Self::FireFollowUps { .. } | Self::DeliverWebhook { .. } | Self::ApplyAcknowledgments {} => None,
        }
    }
}

/// A queue that could not be reached or refused a command; the text names the backend.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

impl QueueError {
    pub fn new(context: &str, error: impl std::fmt::Display) -> Self {
        Self(format!("{context}: {error}"))
    }
}

/// What relays and handlers need from a queue.
pub trait JobQueue: Send + Sync + 'static {
    /// Pushes jobs, each to run after its delay (one-second resolution).
    fn push(&self, jobs: Vec<(Job, Duration)>) -> BoxFuture<'_, Result<(), QueueError>>;
    /// Jobs waiting, due or delayed, not yet taken by a worker.
    fn depth(&self) -> BoxFuture<'_, Result<u64, QueueError>>;
    /// Deletes what the queue keeps of finished jobs (the database holds their outcome);
    /// returns how many. Without it apalis keeps every job ever run, and on SQLite each
    /// acknowledgement scans the worker's finished jobs, so draining slows as they pile up.
    fn prune(&self) -> BoxFuture<'_, Result<u64, QueueError>>;
    /// How often `prune` is worth running.
    fn prune_every(&self) -> Duration;
    /// `redis` or `sqlite`.
    fn backend(&self) -> &'static str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_keep_the_form_they_always_had_on_the_queue() {
        let id = Uuid::now_v7();
        let delivery = Uuid::now_v7();
        let queued = serde_json::json!({
            "id": id, "topic": "deliver_webhook", "payload": { "delivery_id": delivery, "attempt": 3 }, "attempt": 1
        });
        let job: Job = serde_json::from_value(queued.clone()).expect("an older job reads");
        assert_eq!(job, Job { id, task: Task::DeliverWebhook { delivery_id: delivery, attempt: 3 }, attempt: 1 });
        assert_eq!(serde_json::to_value(&job).unwrap(), queued);
        let first: Job = serde_json::from_value(serde_json::json!({
            "id": id, "topic": "fire_followups", "payload": { "follow_up_ids": [delivery] }
        }))
        .expect("attempt defaults to the first");
        assert_eq!(first.attempt, 0);
    }

    #[test]
    fn every_task_goes_through_its_stored_columns_and_back() {
        let id = Uuid::now_v7();
        let tasks = [
            Task::ClassifyRemittance { remittance_id: id },
            Task::PlanFollowUps { remittance_id: id },
            Task::FireFollowUps { follow_up_ids: vec![id, Uuid::now_v7()] },
            Task::DeliverWebhook { delivery_id: id, attempt: 2 },
            Task::ApplyAcknowledgments {},
        ];
        for task in tasks {
            let back = Task::from_parts(task.topic(), task.payload()).expect("reads back");
            assert_eq!(back, task);
        }
        assert_eq!(
            Task::ClassifyRemittance { remittance_id: id }.payload(),
            serde_json::json!({ "remittance_id": id })
        );
        assert_eq!(Task::PlanFollowUps { remittance_id: id }.subject_id(), Some(id));
        assert_eq!(Task::DeliverWebhook { delivery_id: id, attempt: 1 }.subject_id(), None);
    }

    #[test]
    fn unknown_topics_and_bad_payloads_are_refused_by_name() {
        let err = Task::from_parts("reticulate_splines", serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("reticulate_splines"), "{err}");
        assert!(Task::from_parts("classify_remittance", serde_json::json!({ "remittance_id": "x" })).is_err());
        assert!(Task::from_parts("deliver_webhook", serde_json::json!({ "delivery_id": Uuid::nil() })).is_err());
    }
}
