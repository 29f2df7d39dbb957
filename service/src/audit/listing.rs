//! Reading the log back, newest first, for `GET /v1/audit-events`.

use chrono::{DateTime, Utc};
use overturn_domain::audit::GENESIS;
use overturn_domain::hex;
use overturn_entity::{audit_checkpoint, audit_event, audit_event_member};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// What an audit listing is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub member_id: Option<String>,
    pub key_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

/// Events, newest first, before the seq `before` (exclusive), at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Listed>, DbErr> {
    let mut select = audit_event::Entity::find();
    if let Some(member) = &filter.member_id {
        // One patient's events: those naming only them (their row's index), and lists naming
        // them among others.
        let listed = audit_event_member::Entity::find()
            .select_only()
            .column(audit_event_member::Column::Seq)
            .filter(audit_event_member::Column::MemberId.eq(member.as_str()));
        select = select.filter(
            sea_orm::Condition::any()
                .add(audit_event::Column::MemberId.eq(member.as_str()))
                .add(audit_event::Column::Seq.in_subquery(sea_orm::QueryTrait::into_query(listed))),
        );
    }
    if let Some(key) = filter.key_id {
        select = select.filter(audit_event::Column::KeyId.eq(key));
    }
    if let Some(from) = filter.from {
        select = select.filter(audit_event::Column::At.gte(from.timestamp_micros()));
    }
    if let Some(to) = filter.to {
        select = select.filter(audit_event::Column::At.lt(to.timestamp_micros()));
    }
    if let Some(before) = before {
        select = select.filter(audit_event::Column::Seq.lt(before));
    }
    let rows = select.order_by_desc(audit_event::Column::Seq).limit(limit).all(db).await?;
    let prev = prev_hashes(db, &rows).await?;
    Ok(rows.into_iter().zip(prev).map(|(row, prev_hash)| Listed { prev_hash, row }).collect())
}

/// A listed event with the hash it follows.
#[derive(Debug, Clone)]
pub struct Listed {
    pub row: audit_event::Model,
    pub prev_hash: String,
}

/// The hash each row follows: the row before it (in the page, else read), the purge
/// checkpoint it continues, or genesis.
async fn prev_hashes(db: &impl ConnectionTrait, rows: &[audit_event::Model]) -> Result<Vec<String>, DbErr> {
    use std::collections::HashMap;
    let mut known: HashMap<i64, String> = rows.iter().map(|r| (r.seq, hex::encode(&r.hash))).collect();
    let missing: Vec<i64> = rows.iter().map(|r| r.seq - 1).filter(|s| *s > 0 && !known.contains_key(s)).collect();
    if !missing.is_empty() {
        let found: Vec<(i64, Vec<u8>)> = audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::Seq)
            .column(audit_event::Column::Hash)
            .filter(audit_event::Column::Seq.is_in(missing.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        known.extend(found.into_iter().map(|(seq, hash)| (seq, hex::encode(&hash))));
        let purged: Vec<i64> = missing.iter().copied().filter(|s| !known.contains_key(s)).collect();
        if !purged.is_empty() {
            let checkpoints =
                audit_checkpoint::Entity::find().filter(audit_checkpoint::Column::Seq.is_in(purged)).all(db).await?;
            known.extend(checkpoints.into_iter().map(|c| (c.seq, c.hash)));
        }
    }
    Ok(rows
        .iter()
        .map(|r| if r.seq == 1 { GENESIS.to_owned() } else { known.get(&(r.seq - 1)).cloned().unwrap_or_default() })
        .collect())
}
