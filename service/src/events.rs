//! Webhook events: routed to the contacts they concern and stored with one pending delivery
//! per contact, in the transaction of the change that causes them (the deliveries table is
//! their outbox; `delivery::enqueue_due` hands them to the queue).
//!
//! An event's id derives from what caused it (`EventDraft::key`), so processing the same
//! cause again stores nothing new: a re-run job never sends an event twice.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use overturn_domain::webhooks::{ContactKind, DeliveryStatus, EventType, wants};
use overturn_entity::contact;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Value};
use uuid::Uuid;

use crate::sql::{Column, insert_rows_if_absent};

/// Namespace of event ids (a UUIDv5 of the event's key).
const EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x6f76_6572_7475_726e_2d65_7665_6e74_7331);

/// An event about to happen to one target (a patient's member id or a payer id).
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub event_type: EventType,
    pub target: ContactKind,
    pub reference: String,
    /// What makes the event unique, e.g. `denial.created:<denial id>`.
    pub key: String,
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

impl EventDraft {
    pub fn id(&self) -> Uuid {
        Uuid::new_v5(&EVENT_NAMESPACE, self.key.as_bytes())
    }

    /// The body every attempt sends, byte for byte: `{type, timestamp, data}`.
    pub fn body(&self) -> String {
        serde_json::json!({
            "type": self.event_type.as_str(),
            "timestamp": self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": self.data,
        })
        .to_string()
    }
}

/// The `webhook-id` receivers see for an event.
pub fn webhook_id(event_id: Uuid) -> String {
    format!("msg_{}", event_id.simple())
}

/// A contact's `events` filter, as stored.
pub fn parse_filter(stored: Option<&str>) -> Option<Vec<EventType>> {
    let names: Vec<String> = serde_json::from_str(stored?).ok()?;
    Some(names.iter().filter_map(|n| EventType::parse(n)).collect())
}

const EVENT_COLUMNS: [Column; 4] = [
    Column::new("id", "uuid"),
    Column::new("event_type", "text"),
    Column::new("body", "text"),
    Column::new("created_at", "timestamptz"),
];

const DELIVERY_COLUMNS: [Column; 9] = [
    Column::new("id", "uuid"),
    Column::new("event_id", "uuid"),
    Column::new("contact_id", "uuid"),
    Column::new("event_type", "text"),
    Column::new("status", "text"),
    Column::new("attempts", "int4"),
    Column::nullable("next_attempt_at", "timestamptz"),
    Column::new("created_at", "timestamptz"),
    Column::new("updated_at", "timestamptz"),
];

/// Contacts looked up per statement (one parameter each).
const LOOKUP_CHUNK: usize = 5_000;

/// Deliveries written at once past which the planner's statistics are refreshed.
pub const REPLAN_AFTER: usize = 1_000;

/// Refreshes PostgreSQL's statistics of the delivery table after a bulk insert.
///
/// Autovacuum analyzes a table up to a minute after it changed. Until then the planner
/// believes the few pending deliveries it last counted, and picks for the scheduler's
/// "oldest due first, up to N" a bitmap scan that reads and sorts every pending row on each
/// pass: a cost that grows with the backlog (figures in `docs/benchmarks.md`). A failure only
/// leaves the old statistics, so it is logged, not raised.
pub async fn refresh_delivery_statistics(db: &DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    if let Err(err) = db.execute_unprepared("ANALYZE webhook_deliveries").await {
        tracing::warn!(error = %err, "could not refresh the delivery table's statistics");
    }
}

/// Stores each draft that reaches at least one enabled contact, and a pending delivery per
/// contact; returns the deliveries stored (none again for drafts stored before).
pub async fn emit<C: ConnectionTrait>(db: &C, drafts: &[EventDraft]) -> Result<usize, DbErr> {
    if drafts.is_empty() {
        return Ok(0);
    }
    let contacts = contacts_for(db, drafts).await?;
    if contacts.is_empty() {
        return Ok(0);
    }
    let mut rows = Rows::default();
    for draft in drafts {
        let Some(targets) = contacts.get(&(draft.target, draft.reference.clone())) else { continue };
        let receivers: Vec<Uuid> = targets
            .iter()
            .filter(|c| wants(draft.target, c.filter.as_deref(), draft.event_type))
            .map(|c| c.id)
            .collect();
        rows.add(draft, &receivers);
    }
    rows.insert(db).await
}

/// Stores one event for the contacts given, whatever their filters (a test event to its
/// contact); returns the ids of the deliveries created.
pub async fn store_for<C: ConnectionTrait>(db: &C, draft: &EventDraft, contacts: &[Uuid]) -> Result<Vec<Uuid>, DbErr> {
    let mut rows = Rows::default();
    let ids = rows.add(draft, contacts);
    rows.insert(db).await?;
    Ok(ids)
}

/// Event and delivery rows gathered for one bulk insert each.
#[derive(Default)]
struct Rows {
    events: Vec<Value>,
    deliveries: Vec<Value>,
    count: usize,
}

impl Rows {
    /// The draft's event and a pending delivery per contact; the new delivery ids.
    fn add(&mut self, draft: &EventDraft, contacts: &[Uuid]) -> Vec<Uuid> {
        if contacts.is_empty() {
            return Vec::new();
        }
        let id = draft.id();
        self.events.extend([
            Value::from(id),
            Value::from(draft.event_type.as_str()),
            Value::from(draft.body()),
            Value::from(draft.at),
        ]);
        let mut ids = Vec::with_capacity(contacts.len());
        for contact in contacts {
            let delivery = Uuid::now_v7();
            ids.push(delivery);
            self.deliveries.extend([
                Value::from(delivery),
                Value::from(id),
                Value::from(*contact),
                Value::from(draft.event_type.as_str()),
                Value::from(DeliveryStatus::Pending.as_str()),
                Value::from(0i32),
                Value::from(Some(draft.at)),
                Value::from(draft.at),
                Value::from(draft.at),
            ]);
        }
        self.count += contacts.len();
        ids
    }

    /// Inserts what was gathered, skipping rows stored before; returns the deliveries gathered.
    async fn insert<C: ConnectionTrait>(self, db: &C) -> Result<usize, DbErr> {
        insert_rows_if_absent(db, "webhook_events", &EVENT_COLUMNS, self.events).await?;
        insert_rows_if_absent(db, "webhook_deliveries", &DELIVERY_COLUMNS, self.deliveries).await?;
        Ok(self.count)
    }
}

struct Target {
    id: Uuid,
    filter: Option<Vec<EventType>>,
}

/// The enabled contacts of every target the drafts name.
async fn contacts_for<C: ConnectionTrait>(
    db: &C,
    drafts: &[EventDraft],
) -> Result<HashMap<(ContactKind, String), Vec<Target>>, DbErr> {
    let mut found: HashMap<(ContactKind, String), Vec<Target>> = HashMap::new();
    for kind in [ContactKind::Patient, ContactKind::Payer] {
        let references: BTreeSet<&str> =
            drafts.iter().filter(|d| d.target == kind).map(|d| d.reference.as_str()).collect();
        let references: Vec<&str> = references.into_iter().collect();
        for chunk in references.chunks(LOOKUP_CHUNK) {
            let rows = contact::Entity::find()
                .filter(
                    Condition::all()
                        .add(contact::Column::Kind.eq(kind.as_str()))
                        .add(contact::Column::Reference.is_in(chunk.iter().copied()))
                        .add(contact::Column::Enabled.eq(true))
                        .add(contact::Column::DeletedAt.is_null()),
                )
                .all(db)
                .await?;
            for row in rows {
                let filter = parse_filter(row.events.as_deref());
                found.entry((kind, row.reference)).or_default().push(Target { id: row.id, filter });
            }
        }
    }
    Ok(found)
}

/// The payloads of each event's `data`, as documented in the OpenAPI document. No names,
/// birth dates or member ids: a patient contact already stands for its member id.
pub mod payloads {
    use serde::Serialize;
    use utoipa::ToSchema;
    use uuid::Uuid;

    /// Every webhook's body.
    #[derive(Debug, Serialize, ToSchema)]
    pub struct WebhookEnvelope {
        /// `patient.balance_due`, `patient.action_required`, `followup.due`, `denial.created`
        /// or `ping`.
        #[schema(example = "patient.balance_due")]
        pub r#type: String,
        /// When the event happened (RFC 3339, UTC).
        pub timestamp: chrono::DateTime<chrono::Utc>,
        /// One of the `*Data` schemas, by `type`.
        pub data: serde_json::Value,
    }

    /// A PR adjustment: what the patient owes for one reason.
    #[derive(Debug, Serialize, ToSchema)]
    pub struct PatientShare {
        #[schema(example = "PR")]
        pub group_code: String,
        #[schema(example = "3")]
        pub reason_code: String,
        #[schema(example = "25.00")]
        pub amount: String,
    }

    /// `patient.balance_due`: a remittance left the patient a share of a claim.
    #[derive(Debug, Serialize, ToSchema)]
    pub struct BalanceDueData {
        #[schema(example = "CLM-1001")]
        pub claim_number: String,
        /// The patient's responsibility on this claim (CLP05).
        #[schema(example = "45.00")]
        pub amount: String,
        /// The patient responsibility by PR reason code.
        pub breakdown: Vec<PatientShare>,
        pub payer_id: Option<String>,
        pub remittance_id: Uuid,
    }

    /// `patient.action_required`: an eligibility or coordination-of-benefits denial that the
    /// patient's current insurance details resolve.
    #[derive(Debug, Serialize, ToSchema)]
    pub struct ActionRequiredData {
        pub claim_number: String,
        pub denial_id: Uuid,
        /// `eligibility` or `coordination_of_benefits`.
        #[schema(example = "eligibility")]
        pub category: String,
        pub payer_id: String,
    }

    /// `denial.created`: a denial was classified (to payer contacts that ask for it).
    #[derive(Debug, Serialize, ToSchema)]
    pub struct DenialCreatedData {
        pub denial_id: Uuid,
        pub claim_number: String,
        pub payer_id: String,
        #[schema(example = "authorization")]
        pub category: String,
        pub group_code: Option<String>,
        pub reason_code: Option<String>,
        #[schema(example = "1450.00")]
        pub amount: String,
        #[schema(example = "appeal")]
        pub recommended_action: String,
        pub appeal_deadline: Option<chrono::NaiveDate>,
        /// The service line (1-based), or null for the claim level.
        pub line_number: Option<i32>,
        pub procedure_code: Option<String>,
    }

    /// `claim.rejected`: a claim was returned at the front door by a 999 or 277CA (to payer
    /// contacts that ask for it). Its work item is the denial named.
    #[derive(Debug, Serialize, ToSchema)]
    pub struct ClaimRejectedData {
        pub claim_id: Uuid,
        pub claim_number: String,
        pub payer_id: String,
        /// The rejection's work item (a denial of category `rejection`).
        pub denial_id: Uuid,
        pub acknowledgment_id: Uuid,
        /// `999`, `277CA` or `277`.
        #[schema(example = "277CA")]
        pub kind: String,
        pub status_codes: Vec<crate::acknowledgments::StatusCodeRecord>,
        #[schema(example = "registration")]
        pub work_queue: String,
        /// The timely-filing limit: the claim must reach the payer, corrected, by then.
        pub appeal_deadline: Option<chrono::NaiveDate>,
    }

    /// `followup.due`: a follow-up fell due (to the payer's or the patient's contacts, by its
    /// target). The same follow-up fires again only after a snooze, with a new event id.
    #[derive(Debug, Serialize, ToSchema)]
    pub struct FollowUpDueData {
        pub follow_up_id: Uuid,
        /// `status_check`, `appeal_deadline`, `resubmission`, `patient_outreach` or
        /// `timely_filing`.
        #[schema(example = "status_check")]
        pub kind: String,
        pub due_at: chrono::DateTime<chrono::Utc>,
        #[schema(example = "CLM-1001")]
        pub claim_number: String,
        pub claim_id: Option<Uuid>,
        pub denial_id: Option<Uuid>,
        /// For a payer target: the payer's id.
        pub payer_id: Option<String>,
        /// For a patient target: the member id the contact stands for.
        pub member_id: Option<String>,
        /// For `appeal_deadline`: the deadline, and how many days are left (negative once it
        /// passed: the escalation).
        pub appeal_deadline: Option<chrono::NaiveDate>,
        pub days_left: Option<i64>,
        /// True for the escalation of an appeal deadline that passed.
        pub escalation: bool,
        /// For a denial's follow-up: its priority, recomputed as it fired.
        pub priority: Option<i32>,
        /// For a status check of a claim: the claim status inquiry (276) to send the payer.
        #[schema(example = "/v1/follow-ups/0192f0c4-3c1e-7a51-9d9c-3f1c2e4b5a6d/276")]
        pub inquiry_url: Option<String>,
    }

    /// `ping`: sent by `POST /v1/contacts/{id}/test`.
    #[derive(Debug, Serialize, ToSchema)]
    pub struct PingData {
        pub contact_id: Uuid,
        #[schema(example = "This is a test event from Overturn.")]
        pub message: String,
    }
}
