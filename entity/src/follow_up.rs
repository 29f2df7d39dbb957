use overturn_domain::followups::FollowUpStatus;
use sea_orm::entity::prelude::*;

use crate::stored::Stored;

/// One piece of chasing (`overturn_domain::followups`): `scheduled` until `due_at`, then
/// `fired` until a person completes it; `cancelled` when it no longer makes sense.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "follow_ups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub claim_id: Option<Uuid>,
    pub claim_number: String,
    pub claim_payment_id: Option<Uuid>,
    pub denial_id: Option<Uuid>,
    /// Where the payer-rule window behind `due_at` starts; `None` for fixed delays.
    pub anchor_at: Option<DateTimeUtc>,
    pub payer_id: String,
    /// `payer` or `patient`.
    pub target: String,
    /// The payer id or the member id of the target.
    pub reference: String,
    pub offset_days: Option<i32>,
    pub due_at: DateTimeUtc,
    pub status: Stored<FollowUpStatus>,
    pub assignee: Option<String>,
    pub note: Option<String>,
    /// When it was handed to the queue to fire; `None` while it waits in the table.
    pub enqueued_at: Option<DateTimeUtc>,
    pub fired_at: Option<DateTimeUtc>,
    pub fire_count: i32,
    pub snoozed: bool,
    pub closed_at: Option<DateTimeUtc>,
    pub close_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
