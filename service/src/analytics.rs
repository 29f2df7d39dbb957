//! Denial counts and amounts for a period, grouped by category, payer or reason code, with
//! the claim payments received in it (the denominators of the rates).

use chrono::{DateTime, Utc};
use overturn_domain::denial_workflow::DenialStatus;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use crate::sql::placeholder;

/// What the denials are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Category,
    Payer,
    ReasonCode,
}

impl Grouping {
    fn key(self) -> &'static str {
        match self {
            Self::Category => "d.category",
            Self::Payer => "d.payer_id",
            Self::ReasonCode => "COALESCE(d.reason_code, 'none')",
        }
    }
}

/// A half-open period of UTC instants; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Period {
    /// `column` within the period, binding the bounds after those already in `values`.
    fn clause(&self, backend: sea_orm::DbBackend, column: &str, values: &mut Vec<Value>) -> String {
        let mut clauses = Vec::new();
        for (bound, op) in [(self.start, ">="), (self.end, "<")] {
            if let Some(at) = bound {
                values.push(Value::from(at));
                clauses.push(format!("{column} {op} {}", placeholder(backend, values.len())));
            }
        }
        if clauses.is_empty() { "1 = 1".to_owned() } else { clauses.join(" AND ") }
    }
}

/// One group's figures, in cents and counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupCounts {
    pub key: String,
    pub denials: i64,
    pub denied_cents: i64,
    pub open: i64,
    pub overturned: i64,
    pub upheld: i64,
    pub written_off: i64,
    pub recovered_cents: i64,
    /// Claim payments with at least one denial in the group.
    pub denied_claim_payments: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DenialCounts {
    pub groups: Vec<GroupCounts>,
    /// Claim payments received in the period, by the payer classification files them under.
    pub payments_by_payer: Vec<(String, i64)>,
    /// Claim payments with any denial in the period (one with denials in two groups counts once).
    pub denied_claim_payments: i64,
}

pub async fn denial_counts(db: &impl ConnectionTrait, by: Grouping, period: Period) -> Result<DenialCounts, DbErr> {
    let backend = db.get_database_backend();
    let key = by.key();
    let mut values = Vec::new();
    let window = period.clause(backend, "d.created_at", &mut values);
    // The statuses come from the domain's names, which are fixed identifiers, never input.
    let worked: Vec<String> =
        DenialStatus::ALL.into_iter().filter(|s| !s.is_closed()).map(|s| format!("'{}'", s.as_str())).collect();
    let worked = worked.join(", ");
    let (overturned, upheld, written_off) =
        (DenialStatus::Overturned.as_str(), DenialStatus::Upheld.as_str(), DenialStatus::WrittenOff.as_str());
    let sql = format!(
        "SELECT {key} AS k, COUNT(*), CAST(SUM(d.amount_cents) AS BIGINT), \
         CAST(SUM(CASE WHEN d.status IN ({worked}) THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN d.status = '{overturned}' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN d.status = '{upheld}' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN d.status = '{written_off}' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(COALESCE(d.recovered_cents, 0)) AS BIGINT), COUNT(DISTINCT d.claim_payment_id) \
         FROM denials d WHERE {window} GROUP BY {key}"
    );
    let mut groups = Vec::new();
    for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
        let get = |i: usize| row.try_get_by_index::<Option<i64>>(i).map(|v| v.unwrap_or(0));
        groups.push(GroupCounts {
            key: row.try_get_by_index::<String>(0)?,
            denials: get(1)?,
            denied_cents: get(2)?,
            open: get(3)?,
            overturned: get(4)?,
            upheld: get(5)?,
            written_off: get(6)?,
            recovered_cents: get(7)?,
            denied_claim_payments: get(8)?,
        });
    }

    let mut values = Vec::new();
    let window = period.clause(backend, "p.received_at", &mut values);
    let sql = format!(
        "SELECT t.payer_id AS k, COUNT(*) FROM claim_payments p \
         JOIN remittance_transactions t ON t.id = p.transaction_id WHERE {window} GROUP BY t.payer_id"
    );
    let payments_by_payer = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get_by_index::<String>(0)?, r.try_get_by_index::<i64>(1)?)))
        .collect::<Result<_, DbErr>>()?;

    let mut values = Vec::new();
    let window = period.clause(backend, "d.created_at", &mut values);
    let sql = format!("SELECT COUNT(DISTINCT d.claim_payment_id) FROM denials d WHERE {window}");
    let denied_claim_payments = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    Ok(DenialCounts { groups, payments_by_payer, denied_claim_payments })
}
