//! A payer's deadlines. Changing them moves the appeal deadlines (and priorities) of that
//! payer's denials still being worked, and the follow-ups those rules time, in the same
//! transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::classification::PayerRules as Rules;
use overturn_domain::denial_workflow::DenialStatus;
use overturn_entity::stored::Stored;
use overturn_entity::{denial, payer_rule};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use uuid::Uuid;

use crate::priorities;
use crate::sql::{MAX_PARAMS, now};

/// The payer's stored rules; `None` when it has none (the defaults apply).
pub async fn rules_of(db: &impl ConnectionTrait, payer: &str) -> Result<Option<payer_rule::Model>, DbErr> {
    payer_rule::Entity::find_by_id(payer.to_owned()).one(db).await
}

/// What changing a payer's rules did.
#[derive(Debug, Clone)]
pub struct RulesChanged {
    pub row: payer_rule::Model,
    /// Open denials whose deadline or priority moved.
    pub denials: u64,
    /// Scheduled follow-ups that moved (or were cancelled, their day being over).
    pub follow_ups: u64,
}

/// Stores the payer's rules and moves what they time, in one transaction.
pub async fn set_rules(db: &DatabaseConnection, payer: &str, rules: &Rules) -> Result<RulesChanged, DbErr> {
    let now = now();
    let row = payer_rule::Model {
        payer_id: payer.to_owned(),
        appeal_window_days: rules.appeal_window_days.into(),
        timely_filing_days: rules.timely_filing_days.into(),
        status_check_after_days: rules.status_check_after_days.into(),
        updated_at: now,
    };
    let txn = crate::db::begin_write(db).await?;
    payer_rule::Entity::insert(payer_rule::ActiveModel::from(row.clone()))
        .on_conflict(
            OnConflict::column(payer_rule::Column::PayerId)
                .update_columns([
                    payer_rule::Column::AppealWindowDays,
                    payer_rule::Column::TimelyFilingDays,
                    payer_rule::Column::StatusCheckAfterDays,
                    payer_rule::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let denials = reschedule_denials(&txn, payer, rules, now).await?;
    let follow_ups = crate::followups::reschedule_payer(&txn, payer, rules, now).await?;
    txn.commit().await?;
    Ok(RulesChanged { row, denials, follow_ups })
}

/// Recomputes the deadline and priority of the payer's denials still being worked; returns
/// how many moved.
async fn reschedule_denials<C: ConnectionTrait>(
    txn: &C,
    payer: &str,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let closed = DenialStatus::ALL.into_iter().filter(|s| s.is_closed()).map(Stored);
    let mut rows = denial::Entity::find()
        .filter(denial::Column::PayerId.eq(payer))
        .filter(denial::Column::Status.is_not_in(closed))
        .filter(denial::Column::ProductionDate.is_not_null())
        .all(txn)
        .await?;
    let mut moved: BTreeSet<Uuid> = BTreeSet::new();
    let mut deadlines: BTreeMap<NaiveDate, Vec<Uuid>> = BTreeMap::new();
    for row in &mut rows {
        let Some(produced) = row.production_date else { continue };
        let deadline = rules.appeal_deadline(produced);
        if row.appeal_deadline != Some(deadline) {
            deadlines.entry(deadline).or_default().push(row.id);
            moved.insert(row.id);
            row.appeal_deadline = Some(deadline);
        }
    }
    for (deadline, ids) in deadlines {
        for chunk in ids.chunks(MAX_PARAMS) {
            denial::Entity::update_many()
                .col_expr(denial::Column::AppealDeadline, Expr::value(deadline))
                .col_expr(denial::Column::UpdatedAt, Expr::value(now))
                .filter(denial::Column::Id.is_in(chunk.iter().copied()))
                .exec(txn)
                .await?;
        }
    }
    let rules = HashMap::from([(payer.to_owned(), *rules)]);
    let refreshed = priorities::refresh(txn, &rows, &rules, now.date_naive(), now).await?;
    moved.extend(
        rows.iter().filter(|r| refreshed.priorities.get(&r.id).is_some_and(|p| *p != r.priority)).map(|r| r.id),
    );
    Ok(moved.len() as u64)
}
