//! The rows a remittance is stored as: its transactions and claim payments (with their
//! compact `detail`), and the bulk insert of the payments.

use overturn_domain::classification;
use overturn_domain::x12::{Adjustment, ClaimPayment, ProviderAdjustment, ServiceLine, Transaction, Warning};
use overturn_entity::{claim_payment, remittance_transaction};
use sea_orm::{ConnectionTrait, DbErr, Value};
use serde_json::json;
use uuid::Uuid;

use crate::sql::Column;

/// A debit (BPR03 = D) takes money back.
pub(super) fn signed_payment(t: &remittance_transaction::Model) -> i64 {
    if t.credit_debit == "D" { -t.payment_amount_cents } else { t.payment_amount_cents }
}

pub(super) fn transaction_row(
    remittance_id: Uuid,
    position: usize,
    tx: &Transaction<'_>,
) -> remittance_transaction::Model {
    remittance_transaction::Model {
        id: Uuid::now_v7(),
        remittance_id,
        position: position as i32,
        payer_id: tx.payer_key().to_owned(),
        originator_id: tx.originator().to_owned(),
        trace_number: tx.trace_number.to_owned(),
        payer_name: tx.payer.name.to_owned(),
        payer_id_qualifier: tx.payer.id_qualifier.to_owned(),
        payer_identifier: tx.payer.id.to_owned(),
        payee_name: tx.payee.name.to_owned(),
        payee_id_qualifier: tx.payee.id_qualifier.to_owned(),
        payee_identifier: tx.payee.id.to_owned(),
        handling_code: tx.payment.handling_code.to_owned(),
        credit_debit: tx.payment.credit_debit.to_owned(),
        payment_method: tx.payment.method.to_owned(),
        payment_amount_cents: tx.payment.amount.cents(),
        payment_date: tx.payment.effective_date,
        production_date: tx.production_date,
        interchange_control_number: tx.interchange_control_number.to_owned(),
        group_control_number: tx.group_control_number.to_owned(),
        transaction_control_number: tx.transaction_control_number.to_owned(),
        provider_adjustments: serde_json::Value::Array(tx.provider_adjustments.iter().map(plb_json).collect()),
        claim_count: tx.claims.len() as i32,
        duplicate_of: None,
        warnings: serde_json::Value::Array(tx.warnings.iter().map(warning_json).collect()),
    }
}

pub(super) fn payment_row(
    remittance_id: Uuid,
    transaction: &remittance_transaction::Model,
    position: usize,
    tx: &Transaction<'_>,
    claim: &ClaimPayment<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> claim_payment::Model {
    let lines = tx.lines_of(claim);
    let denied: i64 = tx
        .claim_adjustments(claim)
        .iter()
        .chain(lines.iter().flat_map(|l| tx.line_adjustments(l)))
        .filter(|a| classification::reason_category(a.group, a.reason).is_some())
        .map(|a| a.amount.cents())
        .sum();
    let detail = serde_json::to_string(&Detail {
        adjustments: Adjustments(tx.claim_adjustments(claim)),
        remark_codes: tx.claim_remarks(claim),
        lines: Lines(tx, lines),
    })
    .unwrap_or_else(|_| "{}".to_owned());
    let optional = |s: &str| if s.is_empty() { None } else { Some(s.to_owned()) };
    claim_payment::Model {
        id: Uuid::now_v7(),
        remittance_id,
        transaction_id: transaction.id,
        position: position as i32,
        claim_id: None,
        matched_by: None,
        claim_number: claim.claim_number.to_owned(),
        status_code: claim.status_code.to_owned(),
        charge_cents: claim.charge.cents(),
        paid_cents: claim.paid.cents(),
        patient_responsibility_cents: claim.patient_responsibility.cents(),
        denied_cents: denied,
        payer_claim_control_number: optional(claim.payer_claim_control_number),
        frequency_code: claim.frequency_code.to_owned(),
        filing_indicator: claim.filing_indicator.to_owned(),
        facility_code: claim.facility_code.to_owned(),
        patient_member_id: optional(claim.patient_member_id),
        patient_first_name: claim.patient_first_name.to_owned(),
        patient_last_name: claim.patient_last_name.to_owned(),
        production_date: tx.production_date.or(tx.payment.effective_date),
        detail,
        received_at: now,
    }
}

/// The stored `detail` of a claim payment, serialized straight from the parsed file (no
/// intermediate JSON tree: a large file has a hundred thousand of these). It is written
/// compactly, since it is most of what a remittance sends to the database: one- and
/// two-letter keys, and absent optional values left out. Readers know both these keys
/// (as serde aliases) and the full names of rows written before, and take a missing
/// optional field as null.
#[derive(serde::Serialize)]
pub(super) struct Detail<'t, 'a> {
    #[serde(rename = "a")]
    adjustments: Adjustments<'t, 'a>,
    #[serde(rename = "r")]
    remark_codes: &'t [&'a str],
    #[serde(rename = "l")]
    lines: Lines<'t, 'a>,
}

pub(super) struct Adjustments<'t, 'a>(&'t [Adjustment<'a>]);

impl serde::Serialize for Adjustments<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(rename = "g")]
            group_code: &'a str,
            #[serde(rename = "c")]
            reason_code: &'a str,
            #[serde(rename = "m")]
            amount: overturn_domain::Money,
            #[serde(rename = "q", skip_serializing_if = "Option::is_none")]
            quantity: Option<String>,
        }
        serializer.collect_seq(self.0.iter().map(|a| Out {
            group_code: a.group,
            reason_code: a.reason,
            amount: a.amount,
            quantity: a.quantity.map(|q| q.normalize().to_string()),
        }))
    }
}

pub(super) struct Lines<'t, 'a>(&'t Transaction<'a>, &'t [ServiceLine<'a>]);

impl serde::Serialize for Lines<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Out<'t, 'a> {
            #[serde(rename = "n")]
            line_number: usize,
            #[serde(rename = "pq")]
            procedure_qualifier: &'a str,
            #[serde(rename = "p")]
            procedure_code: &'a str,
            #[serde(rename = "md")]
            modifiers: Vec<&'a str>,
            #[serde(rename = "op", skip_serializing_if = "Option::is_none")]
            original_procedure_code: Option<&'a str>,
            #[serde(rename = "om", skip_serializing_if = "Option::is_none")]
            original_modifiers: Option<Vec<&'a str>>,
            #[serde(rename = "ch")]
            charge: overturn_domain::Money,
            #[serde(rename = "pd")]
            paid: overturn_domain::Money,
            #[serde(rename = "al", skip_serializing_if = "Option::is_none")]
            allowed: Option<overturn_domain::Money>,
            #[serde(rename = "u", skip_serializing_if = "Option::is_none")]
            units: Option<String>,
            #[serde(rename = "d", skip_serializing_if = "Option::is_none")]
            service_date: Option<chrono::NaiveDate>,
            #[serde(rename = "lc", skip_serializing_if = "Option::is_none")]
            line_control_number: Option<&'a str>,
            #[serde(rename = "a")]
            adjustments: Adjustments<'t, 'a>,
            #[serde(rename = "r")]
            remark_codes: &'t [&'a str],
        }
        let tx = self.0;
        serializer.collect_seq(self.1.iter().enumerate().map(|(i, line)| Out {
            line_number: i + 1,
            procedure_qualifier: line.procedure.qualifier,
            procedure_code: line.procedure.code,
            modifiers: line.procedure.modifiers().collect(),
            original_procedure_code: line.original_procedure.as_ref().map(|p| p.code),
            original_modifiers: line.original_procedure.as_ref().map(|p| p.modifiers().collect()),
            charge: line.charge,
            paid: line.paid,
            allowed: line.allowed,
            units: line.units.map(|u| u.normalize().to_string()),
            service_date: line.service_date,
            line_control_number: line.line_control_number,
            adjustments: Adjustments(tx.line_adjustments(line)),
            remark_codes: tx.line_remarks(line),
        }))
    }
}

/// Columns of `claim_payments` in the order `insert_payments` binds them.
pub(super) const PAYMENT_COLUMNS: [Column; 22] = [
    Column::new("id", "uuid"),
    Column::new("remittance_id", "uuid"),
    Column::new("transaction_id", "uuid"),
    Column::new("position", "int4"),
    Column::nullable("claim_id", "uuid"),
    Column::nullable("matched_by", "text"),
    Column::new("claim_number", "text"),
    Column::new("status_code", "text"),
    Column::new("charge_cents", "int8"),
    Column::new("paid_cents", "int8"),
    Column::new("patient_responsibility_cents", "int8"),
    Column::new("denied_cents", "int8"),
    Column::nullable("payer_claim_control_number", "text"),
    Column::new("frequency_code", "text"),
    Column::new("filing_indicator", "text"),
    Column::new("facility_code", "text"),
    Column::nullable("patient_member_id", "text"),
    Column::new("patient_first_name", "text"),
    Column::new("patient_last_name", "text"),
    Column::nullable("production_date", "date"),
    Column::new("detail", "text"),
    Column::new("received_at", "timestamptz"),
];

/// Inserts the payments, moving each one's `detail` into the statement rather than copying it.
pub(super) async fn insert_payments<C: ConnectionTrait>(
    txn: &C,
    payments: &mut [claim_payment::Model],
) -> Result<(), DbErr> {
    let mut values: Vec<Value> = Vec::with_capacity(payments.len() * PAYMENT_COLUMNS.len());
    for p in payments {
        values.extend([
            Value::from(p.id),
            Value::from(p.remittance_id),
            Value::from(p.transaction_id),
            Value::from(p.position),
            Value::from(p.claim_id),
            Value::from(p.matched_by.clone()),
            Value::from(p.claim_number.clone()),
            Value::from(p.status_code.clone()),
            Value::from(p.charge_cents),
            Value::from(p.paid_cents),
            Value::from(p.patient_responsibility_cents),
            Value::from(p.denied_cents),
            Value::from(p.payer_claim_control_number.clone()),
            Value::from(p.frequency_code.clone()),
            Value::from(p.filing_indicator.clone()),
            Value::from(p.facility_code.clone()),
            Value::from(p.patient_member_id.clone()),
            Value::from(p.patient_first_name.clone()),
            Value::from(p.patient_last_name.clone()),
            Value::from(p.production_date),
            Value::from(std::mem::take(&mut p.detail)),
            Value::from(p.received_at),
        ]);
    }
    crate::sql::insert_rows(txn, "claim_payments", &PAYMENT_COLUMNS, values).await
}

pub(super) fn plb_json(p: &ProviderAdjustment<'_>) -> serde_json::Value {
    json!({
        "provider_id": p.provider_id,
        "fiscal_period_date": p.fiscal_period_date,
        "reason_code": p.reason_code,
        "reference": if p.reference.is_empty() { None } else { Some(p.reference) },
        "amount": p.amount,
    })
}

pub(super) fn warning_json(w: &Warning) -> serde_json::Value {
    json!({ "segment_index": w.segment_index, "segment_id": w.segment_id, "message": w.message })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    overturn_domain::hex::encode(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use sea_orm::{IdenStatic, Iterable};

    use super::*;

    /// What the stored detail says, read back as the API shows it, must be what the file said.
    #[test]
    fn the_compact_detail_reads_back_as_the_file_says() {
        use crate::payment_detail::PaymentDetail;
        use overturn_domain::x12::generate::{GeneratorOptions, generate_835};

        let (text, _) = generate_835(&GeneratorOptions { claims: 200, seed: 7, ..Default::default() });
        let file = overturn_domain::x12::parse_835(text.as_bytes()).expect("a generated file parses");
        let tx = &file.transactions[0];
        let row = transaction_row(Uuid::nil(), 0, tx);
        let (mut lines_seen, mut adjustments_seen) = (0, 0);
        for (i, claim) in tx.claims.iter().enumerate() {
            let payment = payment_row(Uuid::nil(), &row, i, tx, claim, chrono::Utc::now());
            let read: PaymentDetail = serde_json::from_str(&payment.detail).expect("the detail reads");
            let claim_adjustments = tx.claim_adjustments(claim);
            assert_eq!(read.adjustments.len(), claim_adjustments.len());
            for (out, a) in read.adjustments.iter().zip(claim_adjustments) {
                assert_eq!((out.group_code.as_str(), out.reason_code.as_str()), (a.group, a.reason));
                assert_eq!(out.amount, a.amount.to_string());
            }
            assert_eq!(read.remark_codes, tx.claim_remarks(claim));
            let lines = tx.lines_of(claim);
            assert_eq!(read.lines.len(), lines.len());
            for (n, (out, line)) in read.lines.iter().zip(lines).enumerate() {
                assert_eq!(out.line_number as usize, n + 1);
                assert_eq!(out.procedure_code, line.procedure.code);
                assert_eq!(out.modifiers, line.procedure.modifiers().collect::<Vec<_>>());
                assert_eq!(out.charge, line.charge.to_string());
                assert_eq!(out.paid, line.paid.to_string());
                assert_eq!(out.allowed, line.allowed.map(|m| m.to_string()));
                assert_eq!(out.service_date, line.service_date);
                assert_eq!(out.line_control_number.as_deref(), line.line_control_number);
                assert_eq!(out.adjustments.len(), tx.line_adjustments(line).len());
                assert_eq!(out.remark_codes, tx.line_remarks(line));
                adjustments_seen += out.adjustments.len();
            }
            lines_seen += lines.len();
        }
        assert!(lines_seen > 200 && adjustments_seen > 200, "{lines_seen} lines, {adjustments_seen} adjustments");
    }

    /// Rows written before the compact form still read.
    #[test]
    fn details_written_with_full_names_still_read() {
        use crate::payment_detail::PaymentDetail;
        let old = r#"{"adjustments":[{"group_code":"CO","reason_code":"45","amount":"40.00","quantity":null}],
            "remark_codes":["MA01"],"lines":[{"line_number":1,"procedure_qualifier":"HC","procedure_code":"99213",
            "modifiers":["25"],"charge":"180.00","paid":"115.00","line_control_number":"L1",
            "adjustments":[{"group_code":"PR","reason_code":"3","amount":"25.00"}],"remark_codes":[]}]}"#;
        let read: PaymentDetail = serde_json::from_str(old).expect("the old form reads");
        assert_eq!(read.adjustments[0].reason_code, "45");
        assert_eq!(read.remark_codes, ["MA01"]);
        assert_eq!(read.lines[0].modifiers, ["25"]);
        assert_eq!(read.lines[0].line_control_number.as_deref(), Some("L1"));
        assert_eq!(read.lines[0].adjustments[0].amount, "25.00");
        assert_eq!(read.lines[0].allowed, None);
    }

    #[test]
    fn payment_columns_follow_the_entity() {
        let entity: Vec<&str> = claim_payment::Column::iter().map(|c| c.as_str()).collect();
        let written: Vec<&str> = PAYMENT_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(entity, written);
    }
}
