//! Reading stored remittances: the list, one with its transactions, and its claim payments
//! in file order. They are written by `remittance_store`.

use overturn_entity::{claim_payment, remittance, remittance_transaction};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<remittance::Model>, DbErr> {
    remittance::Entity::find_by_id(id).one(db).await
}

/// Remittances, newest first, after the cursor `before` (exclusive), at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<remittance::Model>, DbErr> {
    let mut select = remittance::Entity::find();
    if let Some(before) = before {
        select = select.filter(remittance::Column::Id.lt(before));
    }
    select.order_by_desc(remittance::Column::Id).limit(limit).all(db).await
}

/// The remittance's transactions in file order.
pub async fn transactions_of(
    db: &impl ConnectionTrait,
    remittance_id: Uuid,
) -> Result<Vec<remittance_transaction::Model>, DbErr> {
    remittance_transaction::Entity::find()
        .filter(remittance_transaction::Column::RemittanceId.eq(remittance_id))
        .order_by_asc(remittance_transaction::Column::Position)
        .all(db)
        .await
}

/// The remittance's claim payments in file order (their ids are time-ordered and were made
/// in file order), after the cursor `after` (exclusive), at most `limit`.
pub async fn payments_of(
    db: &impl ConnectionTrait,
    remittance_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<claim_payment::Model>, DbErr> {
    let mut select = claim_payment::Entity::find().filter(claim_payment::Column::RemittanceId.eq(remittance_id));
    if let Some(after) = after {
        select = select.filter(claim_payment::Column::Id.gt(after));
    }
    select.order_by_asc(claim_payment::Column::Id).limit(limit).all(db).await
}
