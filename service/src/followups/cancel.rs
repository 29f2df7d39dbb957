//! Cancelling follow-ups that no longer make sense, and keeping their claims in step
//! with payments matched after they were planned.

use chrono::{DateTime, Utc};
use overturn_domain::claim::ClaimStatus;
use overturn_domain::followups::{FollowUpKind, FollowUpStatus};
use overturn_domain::settlement;
use overturn_entity::stored::Stored;
use overturn_entity::{claim, claim_payment, follow_up};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Statement, Value,
};
use uuid::Uuid;

use crate::sql::{MAX_PARAMS, any_of};

/// Which open follow-ups to cancel.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Of these kinds, on these claims.
    Claims(&'a [Uuid], &'a [FollowUpKind]),
    /// Those about a denial (or a payment) on these claims: appeal reminders, resubmission,
    /// the patient's questions; not the patient's balance.
    DenialsOfClaims(&'a [Uuid]),
    /// The patient-balance reminders on these claims.
    BalancesOfClaims(&'a [Uuid]),
    /// Of these kinds, about this denial.
    Denial(Uuid, &'a [FollowUpKind]),
}

pub(super) fn open_statuses() -> Vec<&'static str> {
    FollowUpStatus::OPEN.iter().map(|s| s.as_str()).collect()
}

pub(super) fn kinds(kinds: &[FollowUpKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.as_str()).collect()
}

/// Cancels the open follow-ups in `scope`; returns how many.
pub async fn cancel<C: ConnectionTrait>(
    db: &C,
    scope: Scope<'_>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let base = || {
        follow_up::Entity::update_many()
            .col_expr(follow_up::Column::Status, Expr::value(FollowUpStatus::Cancelled.as_str()))
            .col_expr(follow_up::Column::ClosedAt, Expr::value(now))
            .col_expr(follow_up::Column::CloseReason, Expr::value(reason))
            .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
            .filter(follow_up::Column::Status.is_in(open_statuses()))
    };
    let mut cancelled = 0;
    let (claims, condition) = match scope {
        Scope::Denial(id, which) => {
            let result = base()
                .filter(follow_up::Column::DenialId.eq(id))
                .filter(follow_up::Column::Kind.is_in(kinds(which)))
                .exec(db)
                .await?;
            return Ok(result.rows_affected);
        }
        Scope::Claims(ids, which) => (ids, Condition::all().add(follow_up::Column::Kind.is_in(kinds(which)))),
        Scope::DenialsOfClaims(ids) => (
            ids,
            Condition::all()
                .add(follow_up::Column::DenialId.is_not_null())
                .add(follow_up::Column::Kind.is_not_in(kinds(&FollowUpKind::ANSWERED_BY_PAYER))),
        ),
        Scope::BalancesOfClaims(ids) => (
            ids,
            Condition::all()
                .add(follow_up::Column::Kind.eq(FollowUpKind::PatientOutreach.as_str()))
                .add(follow_up::Column::DenialId.is_null()),
        ),
    };
    let backend = db.get_database_backend();
    for chunk in claims.chunks(MAX_PARAMS / 2) {
        cancelled += base()
            .filter(condition.clone())
            .filter(any_of(backend, follow_up::Column::ClaimId, sea_orm::sea_query::ArrayType::Uuid, chunk))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(cancelled)
}

/// What settling claims means for their follow-ups: a payer response ends the status check
/// and the timely-filing watch, and closes the claim's open rejections; a claim paid in full
/// ends the chasing of its denials; a balance gone (paid, or reversed) ends the patient's
/// balance reminder.
pub(super) async fn claims_settled<C: ConnectionTrait>(
    db: &C,
    settled: &[(Uuid, ClaimStatus, i64)],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if settled.is_empty() {
        return Ok(0);
    }
    let answered: Vec<Uuid> = settled.iter().map(|s| s.0).collect();
    let mut n =
        cancel(db, Scope::Claims(&answered, &FollowUpKind::ANSWERED_BY_PAYER), "the payer answered", now).await?;
    let paid: Vec<Uuid> = settled.iter().filter(|s| s.1 == ClaimStatus::Paid).map(|s| s.0).collect();
    if !paid.is_empty() {
        n += cancel(db, Scope::DenialsOfClaims(&paid), "the claim was paid", now).await?;
    }
    // A rejection the payer has since adjudicated no longer stands: the claim reached it again.
    let answered: Vec<(Uuid, Option<chrono::NaiveDate>)> = answered.into_iter().map(|id| (id, None)).collect();
    crate::denials::close_rejections_of(db, &answered, "the payer has since answered the claim with a remittance", now)
        .await?;
    let no_balance: Vec<Uuid> = settled.iter().filter(|s| !settlement::patient_owes(s.1, s.2)).map(|s| s.0).collect();
    if !no_balance.is_empty() {
        n += cancel(db, Scope::BalancesOfClaims(&no_balance), "the patient owes nothing on the claim", now).await?;
    }
    Ok(n)
}

/// `claims_settled` for these claims as they stand now, for those the payer has answered.
///
/// A remittance settles its claims in the request but leaves the cancelling to its follow-up
/// job (on a 20,000-claim file that is tens of thousands of rows with many indexes to keep,
/// too slow for the request); `fire` runs this first for the claims of what it is about to
/// fire, so an answered claim's status check cannot go out in between. Reading the claims'
/// standing rather than remembering it makes both idempotent, and right when later payments
/// have changed a claim meanwhile.
pub async fn reconcile_claims<C: ConnectionTrait>(
    db: &C,
    claim_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let mut settled: Vec<(Uuid, ClaimStatus, i64)> = Vec::new();
    for chunk in claim_ids.chunks(MAX_PARAMS) {
        let rows: Vec<(Uuid, Stored<ClaimStatus>, i64)> = claim::Entity::find()
            .select_only()
            .columns([claim::Column::Id, claim::Column::Status, claim::Column::PatientResponsibilityCents])
            .filter(any_of(backend, claim::Column::Id, sea_orm::sea_query::ArrayType::Uuid, chunk))
            // A claim returned at the front door was never answered: its timely-filing watch
            // matters more than ever.
            .filter(claim::Column::Status.is_not_in([ClaimStatus::Submitted.as_str(), ClaimStatus::Rejected.as_str()]))
            .into_tuple()
            .all(db)
            .await?;
        settled.extend(rows.into_iter().map(|(id, status, pr)| (id, *status, pr)));
    }
    claims_settled(db, &settled, now).await
}

/// `reconcile_claims` for the claims a remittance's payments were matched to.
pub async fn reconcile_remittance<C: ConnectionTrait>(
    db: &C,
    remittance_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let claims: Vec<Option<Uuid>> = claim_payment::Entity::find()
        .select_only()
        .column(claim_payment::Column::ClaimId)
        .distinct()
        .filter(claim_payment::Column::RemittanceId.eq(remittance_id))
        .filter(claim_payment::Column::ClaimId.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let claims: Vec<Uuid> = claims.into_iter().flatten().collect();
    reconcile_claims(db, &claims, now).await
}

/// Copies the claims of these payments (matched after their follow-ups were planned) onto
/// those follow-ups.
pub async fn attach_claims<C: ConnectionTrait>(db: &C, payments: &[Uuid]) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let mut n = 0;
    for chunk in payments.chunks(MAX_PARAMS) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| crate::sql::placeholder(backend, i)).collect();
        let values: Vec<Value> = chunk.iter().map(|id| Value::from(*id)).collect();
        n += attach(db, &placeholders.join(", "), values).await?;
    }
    Ok(n)
}

/// `attach_claims` for every payment of a remittance.
pub async fn attach_claims_of_remittance<C: ConnectionTrait>(db: &C, remittance_id: Uuid) -> Result<u64, DbErr> {
    let placeholder = crate::sql::placeholder(db.get_database_backend(), 1);
    // Only payments matched meanwhile: the rest would be rewritten with the NULL they hold.
    let payments =
        format!("SELECT id FROM claim_payments WHERE remittance_id = {placeholder} AND claim_id IS NOT NULL");
    attach(db, &payments, vec![Value::from(remittance_id)]).await
}

pub(super) async fn attach<C: ConnectionTrait>(db: &C, payments: &str, values: Vec<Value>) -> Result<u64, DbErr> {
    let sql = format!(
        "UPDATE follow_ups SET claim_id = (SELECT p.claim_id FROM claim_payments p WHERE p.id = follow_ups.claim_payment_id) \
         WHERE claim_id IS NULL AND claim_payment_id IN ({payments})"
    );
    let backend = db.get_database_backend();
    Ok(db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected())
}
