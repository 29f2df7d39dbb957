//! Upkeep passes, safe to run in every worker replica at once (each pass is idempotent):
//! - purging idempotency records past their retention;
//! - purging outbox rows handed to the queue more than a day ago;
//! - refreshing the priority of denials still being worked, whose urgency grows as their
//!   appeal deadline nears (days left is part of the formula).

use std::time::Duration;

use chrono::NaiveDate;
use overturn_domain::denial_workflow::DenialStatus;
use overturn_entity::stored::Stored;
use overturn_entity::{denial, idempotency_key, outbox};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::classify::rules_for;
use crate::priorities;

/// Deletes idempotency records created before `now - retention`; returns how many.
pub async fn purge_idempotency_keys(db: &DatabaseConnection, retention: Duration) -> Result<u64, DbErr> {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let cutoff = chrono::Utc::now() - retention;
    let result =
        idempotency_key::Entity::delete_many().filter(idempotency_key::Column::CreatedAt.lt(cutoff)).exec(db).await?;
    Ok(result.rows_affected)
}

/// Deletes outbox rows the relay handed over more than a day ago: the jobs they carried are
/// done or in `failed_jobs`, and the day left over helps an operator trace a hand-over.
pub async fn purge_dispatched_outbox(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let cutoff = chrono::Utc::now() - chrono::Duration::days(1);
    let result = outbox::Entity::delete_many()
        .filter(outbox::Column::DispatchedAt.is_not_null())
        .filter(outbox::Column::DispatchedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Recomputes the priority of every denial still being worked, as of `today`; returns how
/// many changed. Reads in pages of 5,000 by id.
pub async fn refresh_priorities(db: &DatabaseConnection, today: NaiveDate) -> Result<u64, DbErr> {
    let closed = DenialStatus::ALL.into_iter().filter(|s| s.is_closed()).map(Stored);
    let closed: Vec<Stored<DenialStatus>> = closed.collect();
    let mut after: Option<Uuid> = None;
    let mut changed = 0;
    loop {
        let mut select = denial::Entity::find().filter(denial::Column::Status.is_not_in(closed.clone()));
        if let Some(id) = after {
            select = select.filter(denial::Column::Id.gt(id));
        }
        let page = select.order_by_asc(denial::Column::Id).limit(5_000).all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let rules =
            rules_for(db, page.iter().map(|d| d.payer_id.clone()).collect::<std::collections::BTreeSet<_>>()).await?;
        changed += priorities::refresh(db, &page, &rules, today, crate::sql::now()).await?.changed;
    }
    Ok(changed)
}
