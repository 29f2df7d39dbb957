//! One patient's view: what they owe, and the denials of their claims. The patient is the
//! member id a claim was submitted with; a payment not matched to a claim yet belongs to the
//! member id its 835 names (NM1*QC) until it is.

use std::collections::BTreeMap;

use overturn_domain::ClaimStatus;
use overturn_entity::{claim, claim_payment, denial};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::classify::patient_share;
use crate::sql::MAX_PARAMS;

/// Most claims a balance lists; `total_due` still counts every one.
pub const BALANCE_CLAIMS: u64 = 500;

/// A claim the patient owes on, with the share by PR reason code (summed over its payments,
/// a reversal taking back what it reverses).
#[derive(Debug, Clone)]
pub struct OwedClaim {
    pub claim: claim::Model,
    pub breakdown: Vec<(String, i64)>,
}

#[derive(Debug, Clone)]
pub struct Balance {
    pub total_due_cents: i64,
    /// How many claims make up `total_due_cents`; `claims` holds the newest `BALANCE_CLAIMS`.
    pub claim_count: u64,
    pub claims: Vec<OwedClaim>,
}

#[derive(Debug, thiserror::Error)]
pub enum PatientError {
    #[error("a stored payment is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn owing(member_id: &str) -> sea_orm::Select<claim::Entity> {
    claim::Entity::find()
        .filter(claim::Column::PatientMemberId.eq(member_id))
        .filter(claim::Column::PatientResponsibilityCents.gt(0))
        .filter(claim::Column::Status.ne(ClaimStatus::Reversed.as_str()))
}

/// What `member_id` owes: every claim of theirs with a patient share still standing.
pub async fn balance(db: &impl ConnectionTrait, member_id: &str) -> Result<Balance, PatientError> {
    let totals: Option<(Option<i64>, i64)> = owing(member_id)
        .select_only()
        .column_as(Expr::cust("CAST(SUM(patient_responsibility_cents) AS BIGINT)"), "total")
        .column_as(Expr::cust("COUNT(*)"), "count")
        .into_tuple()
        .one(db)
        .await?;
    let (total, count) = totals.unwrap_or((None, 0));
    let rows = owing(member_id).order_by_desc(claim::Column::Id).limit(BALANCE_CLAIMS).all(db).await?;
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    let mut shares: BTreeMap<Uuid, BTreeMap<String, i64>> = BTreeMap::new();
    for chunk in ids.chunks(MAX_PARAMS) {
        let payments = claim_payment::Entity::find()
            .filter(claim_payment::Column::ClaimId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for payment in payments {
            let Some(claim_id) = payment.claim_id else { continue };
            let by_reason = shares.entry(claim_id).or_default();
            for (reason, cents) in patient_share(&payment).map_err(PatientError::Corrupt)? {
                *by_reason.entry(reason).or_default() += cents;
            }
        }
    }
    let claims = rows
        .into_iter()
        .map(|claim| {
            let breakdown =
                shares.remove(&claim.id).unwrap_or_default().into_iter().filter(|(_, cents)| *cents != 0).collect();
            OwedClaim { claim, breakdown }
        })
        .collect();
    Ok(Balance { total_due_cents: total.unwrap_or(0), claim_count: count.max(0) as u64, claims })
}

/// The denial `id` if it is `member_id`'s: its claim was submitted for them, or, while its
/// payment waits for a claim, the 835 names them.
pub async fn denial(db: &impl ConnectionTrait, member_id: &str, id: Uuid) -> Result<Option<denial::Model>, DbErr> {
    let Some(row) = denial::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    let claim_id = match row.claim_id {
        Some(claim_id) => Some(claim_id),
        None => {
            let Some(payment) = claim_payment::Entity::find_by_id(row.claim_payment_id).one(db).await? else {
                return Ok(None);
            };
            match payment.claim_id {
                Some(claim_id) => Some(claim_id),
                None => return Ok((payment.patient_member_id.as_deref() == Some(member_id)).then_some(row)),
            }
        }
    };
    let owner = match claim_id {
        Some(claim_id) => claim::Entity::find_by_id(claim_id).one(db).await?.map(|c| c.patient_member_id),
        None => None,
    };
    Ok((owner.as_deref() == Some(member_id)).then_some(row))
}

/// The claim `id` if it was submitted for `member_id`.
pub async fn claim(db: &impl ConnectionTrait, member_id: &str, id: Uuid) -> Result<Option<claim::Model>, DbErr> {
    Ok(claim::Entity::find_by_id(id).one(db).await?.filter(|c| c.patient_member_id == member_id))
}
