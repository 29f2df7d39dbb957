//! The classification job: turns every claim payment of an ingested remittance into its
//! denials (rules in `overturn_domain::classification`).
//!
//! Idempotent and resumable: a denial's natural key is (claim payment, line, adjustment), and
//! rows already stored are skipped, so a second run, or a run after a worker died half-way,
//! writes only what is missing. The remittance is marked classified last.

use std::collections::HashMap;

use overturn_domain::Money;
use overturn_domain::classification::{self, AdjustmentInput, DenialDraft, LineInput, PayerRules, PaymentInput};
use overturn_domain::denial_workflow::DenialStatus;
use overturn_domain::settlement;
use overturn_domain::webhooks::{ContactKind, EventType};
use overturn_entity::stored::Stored;
use overturn_entity::{claim_payment, contact, denial, payer_rule, remittance, remittance_transaction};

use crate::events::payloads::{ActionRequiredData, BalanceDueData, DenialCreatedData, PatientShare};
use crate::events::{self, EventDraft};
use crate::payment_detail::{AdjustmentOut, PaymentDetail};
use crate::queue::Task;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};
use uuid::Uuid;

use crate::sql::{Column, insert_rows_if_absent, lock_matching, now};

/// Claim payments read per page by default: memory stays bounded for a file of any size,
/// and a worker that dies loses at most a page of work (the rest is stored).
pub const DEFAULT_PAGE: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Classified {
        payments: usize,
        /// CAS triplets examined, claim and line level.
        adjustments: usize,
        denials: usize,
        /// Webhook deliveries the remittance's events created.
        deliveries: usize,
    },
    AlreadyClassified,
    /// The remittance is gone (never stored, or purged): nothing to do.
    Missing,
}

/// The rules of these payers, defaults for those without a row.
pub async fn rules_for<C: ConnectionTrait>(
    db: &C,
    payers: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, PayerRules>, DbErr> {
    let payers: Vec<String> = payers.into_iter().collect();
    let mut out: HashMap<String, PayerRules> = payers.iter().map(|p| (p.clone(), PayerRules::default())).collect();
    for chunk in payers.chunks(crate::sql::MAX_PARAMS) {
        let rows = payer_rule::Entity::find().filter(payer_rule::Column::PayerId.is_in(chunk.to_vec())).all(db).await?;
        for row in rows {
            out.insert(row.payer_id.clone(), rules_of(&row));
        }
    }
    Ok(out)
}

/// `rules_for`, with the claim-matching lock taken shared first (`sql::lock_matching`): on
/// PostgreSQL both in one statement, one round trip less for every batch of claims.
pub async fn lock_matching_and_read_rules<C: ConnectionTrait>(
    db: &C,
    payers: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, PayerRules>, DbErr> {
    use sea_orm::{FromQueryResult, Statement, Value};
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        crate::sql::lock_matching(db, false).await?;
        return rules_for(db, payers).await;
    }
    let payers: Vec<String> = payers.into_iter().collect();
    let mut out: HashMap<String, PayerRules> = payers.iter().map(|p| (p.clone(), PayerRules::default())).collect();
    let array = payers.into_iter().map(Value::from).collect::<Vec<_>>();
    // The lock's one-row subquery is the outer side of the join, so it is taken whether or not
    // any payer has rules.
    let sql = "SELECT r.* FROM (SELECT pg_advisory_xact_lock_shared($1)) AS l \
               LEFT JOIN payer_rules r ON r.payer_id = ANY($2::text[])";
    let values = vec![
        Value::from(crate::sql::MATCH_LOCK),
        Value::Array(sea_orm::sea_query::ArrayType::String, Some(Box::new(array))),
    ];
    for row in db.query_all_raw(Statement::from_sql_and_values(sea_orm::DbBackend::Postgres, sql, values)).await? {
        if row.try_get::<Option<String>>("", "payer_id")?.is_some() {
            let rule = payer_rule::Model::from_query_result(&row, "")?;
            out.insert(rule.payer_id.clone(), rules_of(&rule));
        }
    }
    Ok(out)
}

pub fn rules_of(row: &payer_rule::Model) -> PayerRules {
    let days = |d: i32| u16::try_from(d).unwrap_or(PayerRules::MAX_DAYS);
    PayerRules {
        appeal_window_days: days(row.appeal_window_days),
        timely_filing_days: days(row.timely_filing_days),
        status_check_after_days: days(row.status_check_after_days),
    }
}

/// The stored `detail` of a claim payment, the parts classification reads: under the short
/// keys the remittance store writes, or the full names of rows written before them.
fn adjustments(stored: &[AdjustmentOut]) -> Result<Vec<AdjustmentInput<'_>>, String> {
    stored
        .iter()
        .map(|a| {
            let amount =
                Money::parse_signed(&a.amount).map_err(|e| format!("adjustment amount {:?}: {e}", a.amount))?;
            Ok(AdjustmentInput { group: &a.group_code, reason: &a.reason_code, amount_cents: amount.cents() })
        })
        .collect()
}

fn read_detail(payment: &claim_payment::Model) -> Result<PaymentDetail, String> {
    serde_json::from_str(&payment.detail).map_err(|e| format!("claim payment {}: detail: {e}", payment.id))
}

/// The denials of one stored claim payment.
pub fn denials_of(payment: &claim_payment::Model) -> Result<Vec<DenialDraft>, String> {
    examine(payment).map(|(drafts, _)| drafts)
}

/// The denials of one stored claim payment, and how many adjustments were examined.
pub fn examine(payment: &claim_payment::Model) -> Result<(Vec<DenialDraft>, usize), String> {
    let detail = read_detail(payment)?;
    let lines = detail
        .lines
        .iter()
        .map(|l| {
            Ok(LineInput {
                procedure_code: &l.procedure_code,
                adjustments: adjustments(&l.adjustments)?,
                remark_codes: l.remark_codes.iter().map(String::as_str).collect(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let input = PaymentInput {
        status_code: &payment.status_code,
        charge_cents: payment.charge_cents,
        paid_cents: payment.paid_cents,
        adjustments: adjustments(&detail.adjustments)?,
        remark_codes: detail.remark_codes.iter().map(String::as_str).collect(),
        lines,
    };
    let examined = input.adjustments.len() + input.lines.iter().map(|l| l.adjustments.len()).sum::<usize>();
    Ok((classification::classify_payment(&input), examined))
}

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// Stored data the job cannot read: retrying will not help.
    #[error("{0}")]
    Corrupt(String),
}

/// The columns of a denial as classification writes it (a rejection adds its own).
pub(crate) const DENIAL_COLUMNS: [Column; 23] = [
    Column::new("id", "uuid"),
    Column::new("remittance_id", "uuid"),
    Column::new("claim_payment_id", "uuid"),
    Column::nullable("claim_id", "uuid"),
    Column::new("claim_number", "text"),
    Column::new("payer_id", "text"),
    Column::new("line_position", "int4"),
    Column::new("adjustment_position", "int4"),
    Column::nullable("line_number", "int4"),
    Column::nullable("procedure_code", "text"),
    Column::nullable("group_code", "text"),
    Column::nullable("reason_code", "text"),
    Column::new("remark_codes", "text"),
    Column::new("category", "text"),
    Column::new("work_queue", "text"),
    Column::new("recommended_action", "text"),
    Column::new("amount_cents", "int8"),
    Column::nullable("production_date", "date"),
    Column::nullable("appeal_deadline", "date"),
    Column::new("priority", "int4"),
    Column::new("status", "text"),
    Column::new("created_at", "timestamptz"),
    Column::new("updated_at", "timestamptz"),
];

/// Copies each claim payment's matched claim onto the remittance's denials that lack one
/// (the claim writer sets it on denials of payments it matches later).
pub async fn attach_claims<C: ConnectionTrait>(db: &C, remittance_id: Uuid) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let placeholder = crate::sql::placeholder(backend, 1);
    let sql = format!(
        "UPDATE denials SET claim_id = (SELECT p.claim_id FROM claim_payments p WHERE p.id = denials.claim_payment_id) \
         WHERE remittance_id = {placeholder} AND claim_id IS NULL"
    );
    Ok(db
        .execute_raw(Statement::from_sql_and_values(backend, sql, [Value::from(remittance_id)]))
        .await?
        .rows_affected())
}

pub async fn classify_remittance(
    db: &DatabaseConnection,
    remittance_id: Uuid,
    page_size: u64,
) -> Result<Outcome, ClassifyError> {
    let Some(remittance) = remittance::Entity::find_by_id(remittance_id).one(db).await? else {
        return Ok(Outcome::Missing);
    };
    if remittance.classified_at.is_some() {
        return Ok(Outcome::AlreadyClassified);
    }
    let transactions = remittance_transaction::Entity::find()
        .filter(remittance_transaction::Column::RemittanceId.eq(remittance_id))
        .all(db)
        .await?;
    let payer_of: HashMap<Uuid, String> = transactions.iter().map(|t| (t.id, t.payer_id.clone())).collect();
    let rules = rules_for(db, payer_of.values().cloned().collect::<std::collections::BTreeSet<_>>()).await?;
    let today = chrono::Utc::now().date_naive();
    let stamp = now();

    let (mut payments, mut adjustments, mut denials, mut deliveries) = (0usize, 0usize, 0usize, 0usize);
    // Without a single contact there is nobody to tell: skip the event work.
    let notify = contact::Entity::find()
        .filter(contact::Column::Enabled.eq(true))
        .filter(contact::Column::DeletedAt.is_null())
        .limit(1)
        .one(db)
        .await?
        .is_some();
    let mut after: i32 = -1;
    loop {
        let page = claim_payment::Entity::find()
            .filter(claim_payment::Column::RemittanceId.eq(remittance_id))
            .filter(claim_payment::Column::Position.gt(after))
            .order_by_asc(claim_payment::Column::Position)
            .limit(page_size.max(1))
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        payments += page.len();
        let mut values: Vec<Value> = Vec::new();
        for payment in &page {
            let payer = payer_of.get(&payment.transaction_id).cloned().unwrap_or_default();
            let payer_rules = rules.get(&payer).copied().unwrap_or_default();
            let deadline = payment.production_date.map(|d| payer_rules.appeal_deadline(d));
            let (drafts, examined) = examine(payment).map_err(ClassifyError::Corrupt)?;
            adjustments += examined;
            for draft in drafts {
                denials += 1;
                let remarks = serde_json::to_string(&draft.remark_codes).unwrap_or_else(|_| "[]".to_owned());
                values.extend([
                    Value::from(Uuid::now_v7()),
                    Value::from(remittance_id),
                    Value::from(payment.id),
                    Value::from(payment.claim_id),
                    Value::from(payment.claim_number.clone()),
                    Value::from(payer.clone()),
                    Value::from(draft.source.line.map_or(-1, |l| l as i32)),
                    Value::from(draft.source.adjustment.map_or(-1, |a| a as i32)),
                    Value::from(draft.source.line.map(|l| l as i32 + 1)),
                    Value::from(draft.procedure_code.clone()),
                    Value::from(draft.group_code.clone()),
                    Value::from(draft.reason_code.clone()),
                    Value::from(remarks),
                    Value::from(draft.category.as_str()),
                    Value::from(draft.category.work_queue().as_str()),
                    Value::from(draft.action.as_str()),
                    Value::from(draft.amount_cents),
                    Value::from(payment.production_date),
                    Value::from(deadline),
                    Value::from(crate::priorities::rank(
                        draft.amount_cents,
                        draft.category,
                        draft.action,
                        deadline,
                        &payer_rules,
                        today,
                    )),
                    Value::from(Stored(DenialStatus::Open)),
                    Value::from(stamp),
                    Value::from(stamp),
                ]);
            }
        }
        // The page's denials and the webhook events they cause commit together.
        let txn = crate::db::begin_write(db).await?;
        insert_rows_if_absent(&txn, "denials", &DENIAL_COLUMNS, values).await?;
        let mut emitted = 0;
        if notify {
            let stored = page_denials(&txn, &page).await?;
            let patients = patients_of_claims(&txn, &page).await?;
            let drafts = page_events(&page, &stored, &payer_of, &patients, stamp)?;
            emitted = events::emit(&txn, &drafts).await?;
            deliveries += emitted;
        }
        txn.commit().await?;
        if emitted >= events::REPLAN_AFTER {
            events::refresh_delivery_statistics(db).await;
        }
    }

    // A claim created while this ran may have been matched to one of these payments after
    // the page was read; under the matching lock the claim writer either finished (and its
    // match is visible here) or waits and then finds these denials.
    let txn = crate::db::begin_write(db).await?;
    lock_matching(&txn, true).await?;
    attach_claims(&txn, remittance_id).await?;
    // Its follow-ups are planned by a job of their own, so the worklist does not wait for them.
    overturn_entity::outbox::Entity::insert(crate::outbox::pending_job(&Task::PlanFollowUps { remittance_id }, stamp))
        .exec_without_returning(&txn)
        .await?;
    remittance::Entity::update_many()
        .col_expr(remittance::Column::ClassifiedAt, sea_orm::sea_query::Expr::value(stamp))
        .filter(remittance::Column::Id.eq(remittance_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Outcome::Classified { payments, adjustments, denials, deliveries })
}

/// The denials stored for a page of claim payments (by this run or an earlier one).
pub(crate) async fn page_denials<C: ConnectionTrait>(
    db: &C,
    page: &[claim_payment::Model],
) -> Result<Vec<denial::Model>, DbErr> {
    let ids: Vec<Uuid> = page.iter().map(|p| p.id).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(5_000) {
        out.extend(
            denial::Entity::find()
                .filter(denial::Column::ClaimPaymentId.is_in(chunk.iter().copied()))
                .order_by_asc(denial::Column::Id)
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The member id each matched payment's claim was submitted with: patient events go to the
/// patient of the claim, whatever id the payer's 835 printed (NM1*QC), which is only used
/// while a payment waits for its claim.
pub(crate) async fn patients_of_claims<C: ConnectionTrait>(
    db: &C,
    page: &[claim_payment::Model],
) -> Result<HashMap<Uuid, String>, DbErr> {
    let ids: Vec<Uuid> = page.iter().filter_map(|p| p.claim_id).collect();
    crate::claims::members_of(db, &ids).await
}

/// The patient a payment's events go to.
pub(crate) fn patient_of<'a>(
    payment: &'a claim_payment::Model,
    patients: &'a HashMap<Uuid, String>,
) -> Option<&'a str> {
    match payment.claim_id {
        Some(claim) => patients.get(&claim).map(String::as_str),
        None => payment.patient_member_id.as_deref(),
    }
    .filter(|m| !m.is_empty())
}

/// The patient's share of a payment by PR reason code, claim and line adjustments together.
pub fn patient_share(payment: &claim_payment::Model) -> Result<Vec<(String, i64)>, String> {
    let detail = read_detail(payment)?;
    let mut by_reason: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    let all = detail.adjustments.iter().chain(detail.lines.iter().flat_map(|l| l.adjustments.iter()));
    for a in all.filter(|a| a.group_code == "PR") {
        let amount = Money::parse_signed(&a.amount).map_err(|e| format!("adjustment amount {:?}: {e}", a.amount))?;
        *by_reason.entry(a.reason_code.clone()).or_default() += amount.cents();
    }
    Ok(by_reason.into_iter().filter(|(_, cents)| *cents != 0).collect())
}

fn json(data: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(data).unwrap_or_default()
}

fn money(cents: i64) -> String {
    Money::from_cents(cents).map(|m| m.to_string()).unwrap_or_else(|_| cents.to_string())
}

/// The webhook events one page of a remittance causes:
/// - `patient.balance_due` for each payment leaving the patient a share (not reversals);
/// - `patient.action_required` for each eligibility or COB denial, which the patient's
///   insurance details resolve;
/// - `denial.created` for every denial, to the payer's contacts that ask for it.
///
/// Payloads carry what the receiver acts on and no more: no names or birth dates; the
/// member id only as the contact it is routed to.
fn page_events(
    page: &[claim_payment::Model],
    stored: &[denial::Model],
    payer_of: &HashMap<Uuid, String>,
    patients: &HashMap<Uuid, String>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<EventDraft>, ClassifyError> {
    let mut drafts = Vec::new();
    let by_id: HashMap<Uuid, &claim_payment::Model> = page.iter().map(|p| (p.id, p)).collect();
    for payment in page {
        let Some(member) = patient_of(payment, patients) else { continue };
        if !settlement::leaves_patient_balance(&payment.status_code, payment.patient_responsibility_cents) {
            continue;
        }
        let breakdown = patient_share(payment).map_err(ClassifyError::Corrupt)?;
        drafts.push(EventDraft {
            event_type: EventType::BalanceDue,
            target: ContactKind::Patient,
            reference: member.to_owned(),
            key: format!("patient.balance_due:{}", payment.id),
            data: json(BalanceDueData {
                claim_number: payment.claim_number.clone(),
                amount: money(payment.patient_responsibility_cents),
                breakdown: breakdown
                    .into_iter()
                    .map(|(reason_code, cents)| PatientShare {
                        group_code: "PR".into(),
                        reason_code,
                        amount: money(cents),
                    })
                    .collect(),
                payer_id: payer_of.get(&payment.transaction_id).cloned(),
                remittance_id: payment.remittance_id,
            }),
            at,
        });
    }
    {
        for d in stored {
            drafts.push(EventDraft {
                event_type: EventType::DenialCreated,
                target: ContactKind::Payer,
                reference: d.payer_id.clone(),
                key: format!("denial.created:{}", d.id),
                data: json(DenialCreatedData {
                    denial_id: d.id,
                    claim_number: d.claim_number.clone(),
                    payer_id: d.payer_id.clone(),
                    category: d.category.clone(),
                    group_code: d.group_code.clone(),
                    reason_code: d.reason_code.clone(),
                    amount: money(d.amount_cents),
                    recommended_action: d.recommended_action.clone(),
                    appeal_deadline: d.appeal_deadline,
                    line_number: d.line_number,
                    procedure_code: d.procedure_code.clone(),
                }),
                at,
            });
            let needs_patient = matches!(
                classification::Category::parse(&d.category),
                Some(classification::Category::Eligibility | classification::Category::CoordinationOfBenefits)
            );
            let member = by_id.get(&d.claim_payment_id).and_then(|p| patient_of(p, patients));
            if let (true, Some(member)) = (needs_patient, member) {
                drafts.push(EventDraft {
                    event_type: EventType::ActionRequired,
                    target: ContactKind::Patient,
                    reference: member.to_owned(),
                    key: format!("patient.action_required:{}", d.id),
                    data: json(ActionRequiredData {
                        claim_number: d.claim_number.clone(),
                        denial_id: d.id,
                        category: d.category.clone(),
                        payer_id: d.payer_id.clone(),
                    }),
                    at,
                });
            }
        }
    }
    Ok(drafts)
}
