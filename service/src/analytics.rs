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
    /// Claim payments with at least one denial in the group (rejections, which come from
    /// acknowledgments rather than payments, count none).
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
         CAST(SUM(COALESCE(d.recovered_cents, 0)) AS BIGINT), \
         COUNT(DISTINCT CASE WHEN d.source = 'remittance' THEN d.claim_payment_id END) \
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
    // A rejection (from an acknowledgment) is not a payer's denial of a payment: it stays out
    // of the denial rate, whose denominator is the payments received.
    let sql =
        format!("SELECT COUNT(DISTINCT d.claim_payment_id) FROM denials d WHERE {window} AND d.source = 'remittance'");
    let denied_claim_payments = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    Ok(DenialCounts { groups, payments_by_payer, denied_claim_payments })
}

/// What rejections are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionGrouping {
    /// The claim status category of the first rejecting status (A3, A7, …).
    Category,
    /// Each claim status code a rejection carries (counted once per rejection).
    Code,
    Payer,
}

/// One group of rejections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectionGroup {
    pub key: String,
    pub rejections: i64,
    pub rejected_cents: i64,
    pub open: i64,
    /// Corrected and sent again (or otherwise closed).
    pub closed: i64,
    /// Claims acknowledged in the period (for a payer grouping, that payer's); 0 otherwise.
    pub acknowledged_claims: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectionCounts {
    pub groups: Vec<RejectionGroup>,
    pub totals: RejectionGroup,
}

/// Rejections (work items from 999s, 277CAs and 277s) made in the period, grouped, with the
/// claims acknowledged in it: the denominator of the rejection rate.
pub async fn rejection_counts(
    db: &impl ConnectionTrait,
    by: RejectionGrouping,
    period: Period,
) -> Result<RejectionCounts, DbErr> {
    use std::collections::BTreeMap;
    let backend = db.get_database_backend();
    let mut values = Vec::new();
    let window = period.clause(backend, "d.created_at", &mut values);
    let sql = format!(
        "SELECT d.payer_id, d.status_codes, d.amount_cents, d.status FROM denials d \
         WHERE d.source = 'acknowledgment' AND {window}"
    );
    let mut groups: BTreeMap<String, RejectionGroup> = BTreeMap::new();
    let mut totals = RejectionGroup { key: "all".into(), ..Default::default() };
    for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
        let payer: String = row.try_get_by_index(0)?;
        let codes: Option<String> = row.try_get_by_index(1)?;
        let cents: i64 = row.try_get_by_index(2)?;
        let status: String = row.try_get_by_index(3)?;
        let codes: Vec<serde_json::Value> =
            codes.as_deref().and_then(|c| serde_json::from_str(c).ok()).unwrap_or_default();
        let field = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        let rejecting: Vec<&serde_json::Value> = codes
            .iter()
            .filter(|c| {
                overturn_domain::x12::ack::AckOutcome::of_category(&field(c, "category"))
                    == overturn_domain::x12::ack::AckOutcome::Rejected
            })
            .collect();
        let keys: Vec<String> = match by {
            RejectionGrouping::Payer => vec![payer],
            // A 999's rejection has no status codes: its key is `999`.
            RejectionGrouping::Category => {
                vec![rejecting.first().map(|c| field(c, "category")).unwrap_or_else(|| "999".into())]
            }
            RejectionGrouping::Code => {
                let mut keys: Vec<String> = rejecting.iter().map(|c| field(c, "code")).collect();
                keys.sort();
                keys.dedup();
                if keys.is_empty() { vec!["999".into()] } else { keys }
            }
        };
        let open = DenialStatus::parse(&status).is_some_and(|s| !s.is_closed());
        let count = |g: &mut RejectionGroup| {
            g.rejections += 1;
            g.rejected_cents += cents;
            if open {
                g.open += 1;
            } else {
                g.closed += 1;
            }
        };
        for k in keys {
            count(groups.entry(k.clone()).or_insert_with(|| RejectionGroup { key: k, ..Default::default() }));
        }
        count(&mut totals);
    }
    let mut values = Vec::new();
    let window = period.clause(backend, "a.received_at", &mut values);
    let sql = format!(
        "SELECT c.payer_id, COUNT(DISTINCT a.claim_id) FROM acknowledgment_claims a JOIN claims c ON c.id = a.claim_id \
         WHERE {window} GROUP BY c.payer_id"
    );
    for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
        let payer: String = row.try_get_by_index(0)?;
        let count: i64 = row.try_get_by_index(1)?;
        totals.acknowledged_claims += count;
        if by == RejectionGrouping::Payer {
            groups
                .entry(payer.clone())
                .or_insert_with(|| RejectionGroup { key: payer, ..Default::default() })
                .acknowledged_claims += count;
        }
    }
    let mut groups: Vec<RejectionGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| b.rejections.cmp(&a.rejections).then_with(|| a.key.cmp(&b.key)));
    Ok(RejectionCounts { groups, totals })
}
