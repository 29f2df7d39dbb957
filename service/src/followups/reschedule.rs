//! Moving a payer's scheduled follow-ups when its rules change.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use overturn_domain::classification::PayerRules;
use overturn_domain::followups::{self as rules, FollowUpKind, FollowUpStatus};
use overturn_entity::follow_up;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::sql::{MAX_PARAMS, any_of};

/// Moves the payer's scheduled follow-ups that its rules time (status checks, timely filing,
/// appeal reminders) to the dates the new rules give; snoozed ones keep the date a person
/// chose. A reminder whose new day is already over is cancelled rather than sent late; the
/// escalation always stays. Returns how many changed.
pub async fn reschedule_payer<C: ConnectionTrait>(
    db: &C,
    payer: &str,
    payer_rules: &PayerRules,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let rows = follow_up::Entity::find()
        .filter(follow_up::Column::PayerId.eq(payer))
        .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
        .filter(follow_up::Column::Snoozed.eq(false))
        .filter(follow_up::Column::AnchorAt.is_not_null())
        .all(db)
        .await?;
    let today = rules::start_of(now.date_naive());
    // Rows that move to the same time share one statement: a payer with tens of thousands of
    // open follow-ups has only as many distinct due times as distinct anchor dates.
    let mut moved: BTreeMap<DateTime<Utc>, Vec<Uuid>> = BTreeMap::new();
    let mut passed: Vec<Uuid> = Vec::new();
    for row in rows {
        let (Some(kind), Some(anchor)) = (FollowUpKind::parse(&row.kind), row.anchor_at) else { continue };
        let due = match kind {
            FollowUpKind::StatusCheck => rules::status_check_due(anchor, payer_rules),
            FollowUpKind::TimelyFiling => rules::timely_filing_due(anchor.date_naive(), payer_rules),
            FollowUpKind::AppealDeadline => {
                let deadline = payer_rules.appeal_deadline(anchor.date_naive());
                rules::appeal_reminder_due(deadline, row.offset_days.unwrap_or(rules::ESCALATION_OFFSET))
            }
            FollowUpKind::Resubmission | FollowUpKind::PatientOutreach => continue,
        };
        if due == row.due_at {
            continue;
        }
        if kind == FollowUpKind::AppealDeadline && row.offset_days.is_some_and(|o| o < 0) && due < today {
            passed.push(row.id);
        } else {
            moved.entry(due).or_default().push(row.id);
        }
    }
    let backend = db.get_database_backend();
    let still_scheduled = || {
        follow_up::Entity::update_many()
            .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
            .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
    };
    let mut changed = 0;
    for chunk in passed.chunks(MAX_PARAMS) {
        changed += still_scheduled()
            .col_expr(follow_up::Column::Status, Expr::value(FollowUpStatus::Cancelled.as_str()))
            .col_expr(follow_up::Column::ClosedAt, Expr::value(now))
            .col_expr(
                follow_up::Column::CloseReason,
                Expr::value("the payer's new rules put this reminder in the past"),
            )
            .filter(any_of(backend, follow_up::Column::Id, sea_orm::sea_query::ArrayType::Uuid, chunk))
            .exec(db)
            .await?
            .rows_affected;
    }
    for (due, ids) in moved {
        for chunk in ids.chunks(MAX_PARAMS) {
            changed += still_scheduled()
                .col_expr(follow_up::Column::DueAt, Expr::value(due))
                .col_expr(follow_up::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(any_of(backend, follow_up::Column::Id, sea_orm::sea_query::ArrayType::Uuid, chunk))
                .exec(db)
                .await?
                .rows_affected;
        }
    }
    Ok(changed)
}
