//! The rows an acknowledgment file becomes: one per claim it speaks of (a 277's claim status
//! loops; the claims of the claim-file sets a 999 answers), and the 999's set verdicts.

use std::collections::HashMap;

use overturn_domain::x12::ack::{AckKind, AckOutcome, GroupResponse, StatusFile};
use overturn_entity::{acknowledgment_claim, claim_file, claim_file_set};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::claim_files::{ClaimOutcome, ClaimStatus};
use crate::sql::MAX_PARAMS;

/// One status composite as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCodeRecord {
    pub category: String,
    pub code: String,
    pub entity: Option<String>,
    /// 0 for the claim, else the 1-based service line it was said of.
    #[serde(default)]
    pub line: u16,
}

/// A 999's verdict on one transaction set (`acknowledgments.sets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SetVerdict {
    pub group_control_number: String,
    pub transaction_control_number: String,
    /// IK501 (or AK901 for a group refused whole).
    pub code: String,
    pub claim_file_id: Option<Uuid>,
    /// `matched`, `unmatched` (no claim file has these control numbers) or `ambiguous`.
    pub matched: String,
    pub errors: Vec<String>,
}

/// A 999's errors in words, each with the claim it names (a CTX*CLM01), if any.
type NamedErrors = Vec<(Option<String>, String)>;

/// A set matched to a claim file: its verdict's index, the set, whether rejected, its errors.
struct MatchedSet {
    verdict: usize,
    set: claim_file_set::Model,
    rejected: bool,
    errors: NamedErrors,
}

/// What a 999 says of each segment in error, in words: `NM1 at position 12 in loop 2010
/// (code 8), element 9 (code 7, value "123")`, with the claim it names if any. At most 20 per set.
fn segment_errors<'a>(
    group: &overturn_domain::x12::ack::GroupResponse<'a>,
    set: &overturn_domain::x12::ack::SetResponse<'a>,
) -> NamedErrors {
    group
        .errors_of(set)
        .iter()
        .take(20)
        .map(|e| {
            let mut text = format!("{} at position {}", e.segment_id, e.position);
            if !e.loop_id.is_empty() {
                text.push_str(&format!(" in loop {}", e.loop_id));
            }
            text.push_str(&format!(" (code {})", e.code));
            if let Some(n) = e.claim_number {
                text.push_str(&format!(" of claim {n}"));
            }
            for el in group.elements_of(e) {
                text.push_str(&format!(", element {} (code {}", el.position, el.code));
                if let Some(v) = el.value {
                    text.push_str(&format!(", value {:?}", v.chars().take(40).collect::<String>()));
                }
                text.push(')');
            }
            (e.claim_number.map(str::to_owned), text)
        })
        .collect()
}

/// IK5 (or AK9) codes that refuse: R, and M, W, X for security reasons.
pub(super) fn set_rejected(code: &str) -> bool {
    matches!(code, "R" | "M" | "W" | "X")
}

/// A 999's word on a set for one of its claims: the verdict and the errors that concern it.
pub(super) fn set_message(verdict: &SetVerdict, errors: Vec<&str>) -> String {
    let mut message = format!(
        "transaction set {} of group {}: {} ({})",
        verdict.transaction_control_number,
        verdict.group_control_number,
        if set_rejected(&verdict.code) { "rejected" } else { "accepted" },
        verdict.code
    );
    if !errors.is_empty() {
        message.push_str(": ");
        message.push_str(&errors.join("; "));
    }
    message
}

pub(super) fn blank(
    ack_id: Uuid,
    kind: AckKind,
    position: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> acknowledgment_claim::Model {
    acknowledgment_claim::Model {
        id: Uuid::now_v7(),
        acknowledgment_id: ack_id,
        position: position as i32,
        kind: kind.as_str().to_owned(),
        claim_number: String::new(),
        trace: String::new(),
        payer_claim_number: None,
        member_id: None,
        service_date: None,
        charge_cents: None,
        paid_cents: None,
        effective_date: None,
        outcome: AckOutcome::Pending.as_str().to_owned(),
        status_codes: "[]".to_owned(),
        message: None,
        claim_id: None,
        matched_by: None,
        state: "waiting".to_owned(),
        group_control_number: None,
        received_at: now,
        applied_at: None,
    }
}

/// Text cut to a column's width.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A 277's claims, unmatched yet. The claim number is the patient control number: TRN02 in a
/// 277CA, REF*EJ in a 277 (whose TRN02 traces the inquiry), else TRN02.
pub(super) fn status_rows(
    ack_id: Uuid,
    file: &StatusFile<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<acknowledgment_claim::Model>, DbErr> {
    let mut rows = Vec::with_capacity(file.claims.len());
    for (i, c) in file.claims.iter().enumerate() {
        let statuses = file.statuses_of(c);
        let codes: Vec<StatusCodeRecord> = statuses
            .iter()
            .map(|s| StatusCodeRecord {
                category: s.category.to_owned(),
                code: s.code.to_owned(),
                entity: s.entity.map(str::to_owned),
                line: s.line,
            })
            .collect();
        let number = match file.kind {
            AckKind::ClaimStatus => c.patient_control_number.unwrap_or(c.trace),
            _ => c.trace,
        };
        let mut row = blank(ack_id, file.kind, i, now);
        row.claim_number = cut(number, 50);
        row.trace = cut(c.trace, 50);
        row.payer_claim_number = c.payer_claim_number.map(|n| cut(n, 50));
        row.member_id = c.member_id.map(|m| cut(m, 80));
        row.service_date = c.service_dates.map(|d| d.0);
        row.charge_cents = c.charge.map(|m| m.cents());
        row.paid_cents = c.paid.map(|m| m.cents());
        row.effective_date = c.effective_date;
        row.outcome = AckOutcome::of_statuses(statuses).as_str().to_owned();
        row.status_codes = serde_json::to_string(&codes).map_err(|e| DbErr::Custom(e.to_string()))?;
        row.message = c.message.map(|m| cut(m, 264));
        rows.push(row);
    }
    Ok(rows)
}

/// A 999's set verdicts, and a row for each claim created from a set it answers: the claim
/// file is found by the set's control numbers (AK1 GS06 and AK2 ST02); a group refused
/// whole (AK9 R without AK2) reaches every set of that group. A set that more than one claim
/// file has is left unmatched rather than applied to the wrong file.
pub(super) async fn implementation_rows<C: ConnectionTrait>(
    db: &C,
    ack_id: Uuid,
    groups: &[GroupResponse<'_>],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<SetVerdict>, Vec<acknowledgment_claim::Model>), DbErr> {
    let numbers: Vec<String> = groups
        .iter()
        .map(|g| g.group_control_number.to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut candidates: Vec<claim_file_set::Model> = Vec::new();
    for chunk in numbers.chunks(MAX_PARAMS) {
        candidates.extend(
            claim_file_set::Entity::find()
                .filter(claim_file_set::Column::GroupControlNumber.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    let mut verdicts = Vec::new();
    let mut matched: Vec<MatchedSet> = Vec::new();
    for g in groups {
        let in_group: Vec<&claim_file_set::Model> =
            candidates.iter().filter(|c| c.group_control_number == g.group_control_number).collect();
        let answers: Vec<(String, &str, bool, NamedErrors)> = if g.sets.is_empty() {
            // The group refused (or accepted) whole: each of its sets.
            let mut controls: Vec<String> = in_group.iter().map(|c| c.transaction_control_number.clone()).collect();
            controls.sort();
            controls.dedup();
            controls.into_iter().map(|t| (t, g.code, g.rejected(), Vec::new())).collect()
        } else {
            g.sets.iter().map(|s| (s.control_number.to_owned(), s.code, s.rejected(), segment_errors(g, s))).collect()
        };
        for (control, code, rejected, errors) in answers {
            let fits: Vec<&&claim_file_set::Model> =
                in_group.iter().filter(|c| c.transaction_control_number == control).collect();
            let files: std::collections::BTreeSet<Uuid> = fits.iter().map(|c| c.claim_file_id).collect();
            let (claim_file_id, state) = match files.len() {
                0 => (None, "unmatched"),
                1 => (files.first().copied(), "matched"),
                _ => (None, "ambiguous"),
            };
            verdicts.push(SetVerdict {
                group_control_number: g.group_control_number.to_owned(),
                transaction_control_number: control,
                code: code.to_owned(),
                claim_file_id,
                matched: state.to_owned(),
                errors: errors.iter().map(|e| e.1.clone()).collect(),
            });
            if state == "matched" {
                matched.push(MatchedSet { verdict: verdicts.len() - 1, set: (**fits[0]).clone(), rejected, errors });
            }
        }
    }
    // The claims created from each set matched, from their files' outcomes in file order.
    let file_ids: Vec<Uuid> =
        matched.iter().map(|m| m.set.claim_file_id).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut outcomes: HashMap<Uuid, Vec<ClaimOutcome>> = HashMap::new();
    for id in file_ids {
        let Some(file) = claim_file::Entity::find_by_id(id).one(db).await? else { continue };
        outcomes.insert(
            id,
            serde_json::from_str(&file.outcomes).map_err(|e| DbErr::Custom(format!("claim file {id}: {e}")))?,
        );
    }
    let mut rows = Vec::new();
    for MatchedSet { verdict: verdict_index, set, rejected, errors } in matched {
        let Some(claims) = outcomes.get(&set.claim_file_id) else { continue };
        let verdict = &verdicts[verdict_index];
        let first = usize::try_from(set.first_claim).unwrap_or(0);
        let count = usize::try_from(set.claim_count).unwrap_or(0);
        for outcome in claims.iter().skip(first).take(count) {
            let (ClaimStatus::Created, Some(claim_id)) = (outcome.status, outcome.claim_id) else { continue };
            let mut row = blank(ack_id, AckKind::Implementation, rows.len(), now);
            row.claim_number = cut(&outcome.claim_number, 50);
            row.trace = cut(&verdict.transaction_control_number, 50);
            row.member_id = outcome.member_id.clone();
            row.outcome = if rejected { AckOutcome::Rejected } else { AckOutcome::Accepted }.as_str().to_owned();
            // The set's own errors, and those naming this claim.
            let mine: Vec<&str> = errors
                .iter()
                .filter(|(claim, _)| claim.as_deref().is_none_or(|n| n == outcome.claim_number))
                .map(|(_, text)| text.as_str())
                .collect();
            row.message = Some(cut(&set_message(verdict, mine), 2000));
            row.claim_id = Some(claim_id);
            row.matched_by = Some("claim_file".to_owned());
            rows.push(row);
        }
    }
    // A set no claim file has yet waits for its file, as a row of its own (no claim number).
    for v in verdicts.iter().filter(|v| v.matched == "unmatched") {
        let mut row = blank(ack_id, AckKind::Implementation, rows.len(), now);
        row.trace = cut(&v.transaction_control_number, 50);
        row.group_control_number = Some(cut(&v.group_control_number, 20));
        row.outcome =
            if set_rejected(&v.code) { AckOutcome::Rejected } else { AckOutcome::Accepted }.as_str().to_owned();
        row.message = Some(cut(&set_message(v, v.errors.iter().map(String::as_str).collect()), 2000));
        rows.push(row);
    }
    Ok((verdicts, rows))
}
