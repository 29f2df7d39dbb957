//! Corrected claims: a replacement (frequency 7) or void (8) of a claim, as a new claim that
//! names the one it replaces, cites the payer's claim control number of that claim's latest
//! payment (REF*F8), and moves that claim's open denials to `resubmitted`. A claim rejected
//! before adjudication (999, 277CA) is corrected as an original (frequency 1) sent again. A claim that came
//! in an 837 keeps every loop in its correction, changed only where the correction says.

use overturn_domain::audit::AuditEvent;
use overturn_domain::denial_workflow::{DenialAction, DenialStatus};
use overturn_domain::x12::claim837::{Edits, LineFields, edit};
use overturn_domain::{ClaimLineDraft, ClaimNumber, ClaimStatus, DiagnosisCode, FrequencyCode, PayerId};
use overturn_entity::{claim, claim_detail, claim_payment, denial};
use sea_orm::{ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::claim_writer::{ClaimAnswer, ClaimDetail, Outcome, PendingClaim, store_in};
use crate::denials::{self, Actor};

/// What a correction makes of its claim.
#[derive(Debug, Clone)]
pub struct Correction {
    /// Replacement or void.
    pub frequency: FrequencyCode,
    pub claim_number: Option<ClaimNumber>,
    pub diagnosis_codes: Option<Vec<DiagnosisCode>>,
    pub lines: Option<Vec<ClaimLineDraft>>,
    /// With `lines`, each line's place of service, diagnosis pointers and drug, where sent.
    pub line_fields: Option<Vec<LineFields>>,
    /// CLM05-1 of a professional claim.
    pub place_of_service: Option<String>,
    /// Instead of the one of the latest payment.
    pub payer_claim_control_number: Option<PayerId>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionError {
    #[error("no claim with id {0}")]
    NotFound(Uuid),
    #[error("claim {original} was already replaced by claim {by}: correct that one")]
    Replaced { original: Uuid, by: Uuid },
    #[error("claim {0} was corrected by another request meanwhile: correct that correction")]
    Raced(Uuid),
    #[error("claim {0} is a void: there is nothing left to correct")]
    Voided(Uuid),
    #[error(
        "claim {0} has no payment from the payer yet, so no payer's claim control number (CLP07) to cite: send payer_claim_control_number in changes, or wait for the 835"
    )]
    NoControlNumber(Uuid),
    #[error("a claim numbered {0:?} exists; a correction keeps its own claim's number or takes an unused one")]
    NumberTaken(String),
    #[error(
        "claim {0} was not rejected before adjudication: only such a claim is sent again as an original (frequency 1); replace (7) or void (8) a claim the payer adjudicated"
    )]
    NotRejected(Uuid),
    #[error("{0}")]
    Unwritable(String),
}

/// The correction as stored: what its answer shows.
pub struct Corrected {
    /// The claim writer's outcome for the new claim (`Created` or `Stored`).
    pub outcome: Outcome,
    pub claim: claim::Model,
    /// The original's denials moved to `resubmitted`.
    pub resubmitted: Vec<Uuid>,
}

/// Corrects the claim `original_id` in `txn`.
pub async fn correct(
    txn: &DatabaseTransaction,
    original_id: Uuid,
    correction: &Correction,
    actor: &Actor,
    audit: Option<AuditEvent>,
    answer: &dyn ClaimAnswer,
) -> Result<Result<Corrected, CorrectionError>, DbErr> {
    let Some(original) = claim::Entity::find_by_id(original_id).one(txn).await? else {
        return Ok(Err(CorrectionError::NotFound(original_id)));
    };
    let replaced_by: Option<Uuid> = claim::Entity::find()
        .select_only()
        .column(claim::Column::Id)
        .filter(claim::Column::ReplacesClaimId.eq(original_id))
        .into_tuple()
        .one(txn)
        .await?;
    if let Some(by) = replaced_by {
        return Ok(Err(CorrectionError::Replaced { original: original_id, by }));
    }
    if original.frequency_code == FrequencyCode::Void.code() {
        return Ok(Err(CorrectionError::Voided(original_id)));
    }
    // A claim returned at the front door (999, 277CA) never reached adjudication: it goes out
    // again as an original, with no payer's claim number to cite.
    let resend = correction.frequency == FrequencyCode::Original;
    if resend && *original.status != ClaimStatus::Rejected {
        return Ok(Err(CorrectionError::NotRejected(original_id)));
    }
    let control_number = match &correction.payer_claim_control_number {
        _ if resend => String::new(),
        Some(given) => given.as_str().to_owned(),
        None => match latest_control_number(txn, &original).await? {
            Some(found) => found,
            None => return Ok(Err(CorrectionError::NoControlNumber(original_id))),
        },
    };

    // A new number must be free: a number names one claim and its corrections.
    if let Some(number) = correction.claim_number.as_ref().filter(|n| n.as_str() != original.claim_number) {
        let taken: Option<Uuid> = claim::Entity::find()
            .select_only()
            .column(claim::Column::Id)
            .filter(claim::Column::ClaimNumber.eq(number.as_str()))
            .into_tuple()
            .one(txn)
            .await?;
        if taken.is_some() {
            return Ok(Err(CorrectionError::NumberTaken(number.as_str().to_owned())));
        }
    }
    let now = crate::sql::now();
    let id = Uuid::now_v7();
    let mut row = original.clone();
    row.id = id;
    if let Some(number) = &correction.claim_number {
        row.claim_number = number.as_str().to_owned();
    }
    row.frequency_code = correction.frequency.code().to_owned();
    row.payer_claim_control_number = (!control_number.is_empty()).then(|| control_number.clone());
    (row.accepted_at, row.payer_status) = (None, None);
    row.replaces_claim_id = Some(original_id);
    // Under the same number, the next revision; under a new one, the first.
    row.revision = if row.claim_number == original.claim_number { original.revision + 1 } else { 0 };
    row.status = ClaimStatus::Submitted.into();
    (row.paid_amount_cents, row.patient_responsibility_cents) = (0, 0);
    (row.submitted_at, row.created_at, row.updated_at) = (now, now, now);
    if let Some(codes) = &correction.diagnosis_codes {
        row.diagnosis_codes = serde_json::json!(codes.iter().map(|d| d.as_str()).collect::<Vec<_>>());
    }
    let lines = match &correction.lines {
        Some(lines) => {
            row.total_charge_cents = lines.iter().map(|l| l.charge.cents()).sum();
            if let Some(first) = lines.iter().map(|l| l.service_date).min() {
                row.service_date = first;
            }
            crate::claims::line_rows(id, lines)
        }
        None => {
            let mut lines =
                crate::claims::lines_of(txn, &[original_id]).await?.remove(&original_id).unwrap_or_default();
            for line in &mut lines {
                line.claim_id = id;
            }
            lines
        }
    };

    // The 837 it came in, corrected.
    let detail = match claim_detail::Entity::find_by_id(original_id).one(txn).await? {
        None if correction.place_of_service.is_some()
            || correction.line_fields.iter().flatten().any(|f| !f.is_empty()) =>
        {
            return Ok(Err(CorrectionError::Unwritable(format!(
                "claim {original_id} has no 837 loops to carry a place of service, diagnosis pointers or a drug: send it again with its 837 fields (POST /v1/claims) or as an 837"
            ))));
        }
        None => None,
        Some(found) => {
            let stored = serde_json::from_str(&found.detail)
                .map_err(|e| DbErr::Custom(format!("claim {original_id}'s stored 837 loops: {e}")))?;
            let edits = Edits {
                frequency: correction.frequency.code(),
                claim_number: correction.claim_number.as_ref().map(ClaimNumber::as_str),
                payer_claim_control_number: &control_number,
                diagnoses: correction.diagnosis_codes.as_deref(),
                lines: correction.lines.as_deref(),
                line_fields: correction.line_fields.as_deref(),
                place_of_service: correction.place_of_service.as_deref(),
                service_date: row.service_date,
            };
            let changed = match edit(&stored, &edits) {
                Ok(changed) => changed,
                Err(e) => return Ok(Err(CorrectionError::Unwritable(e.to_string()))),
            };
            Some(ClaimDetail::new(None, changed, true)?)
        }
    };

    let pending = PendingClaim { claim: row.clone(), lines, idempotency: None, audit, detail };
    let (mut outcomes, _) = store_in(txn, std::slice::from_ref(&pending), answer).await?;
    let outcome = outcomes.pop().ok_or_else(|| DbErr::Custom("the claim writer gave no outcome".into()))?;
    if outcome == Outcome::DuplicateClaimNumber {
        // The number and revision were taken meanwhile: another correction of the same claim
        // committed first, or a claim took the new number.
        return Ok(Err(if row.revision > 0 {
            CorrectionError::Raced(original_id)
        } else {
            CorrectionError::NumberTaken(row.claim_number)
        }));
    }

    // The original's open denials are being worked by this resubmission.
    let note = correction
        .note
        .clone()
        .unwrap_or_else(|| format!("corrected by claim {id} (frequency {})", correction.frequency.code()));
    let resubmitted = resubmit_denials_of(txn, &[original_id], actor, &note).await?;
    Ok(Ok(Corrected { outcome, claim: row, resubmitted }))
}

/// CLP07 of the claim's latest payment that has one; for a correction not yet paid, the one it
/// cited itself.
async fn latest_control_number(txn: &DatabaseTransaction, claim: &claim::Model) -> Result<Option<String>, DbErr> {
    let paid: Option<Option<String>> = claim_payment::Entity::find()
        .select_only()
        .column(claim_payment::Column::PayerClaimControlNumber)
        .filter(claim_payment::Column::ClaimId.eq(claim.id))
        .filter(claim_payment::Column::PayerClaimControlNumber.is_not_null())
        .filter(claim_payment::Column::PayerClaimControlNumber.ne(""))
        .order_by_desc(claim_payment::Column::ReceivedAt)
        .order_by_desc(claim_payment::Column::Id)
        .into_tuple()
        .one(txn)
        .await?;
    Ok(paid.flatten().or_else(|| claim.payer_claim_control_number.clone()))
}

/// Moves the open denials of `claims` to `resubmitted` (with their events and follow-ups);
/// returns those moved.
pub async fn resubmit_denials_of(
    txn: &DatabaseTransaction,
    claims: &[Uuid],
    actor: &Actor,
    note: &str,
) -> Result<Vec<Uuid>, DbErr> {
    let mut resubmitted = Vec::new();
    for chunk in claims.chunks(crate::sql::MAX_PARAMS) {
        let open: Vec<Uuid> = denial::Entity::find()
            .select_only()
            .column(denial::Column::Id)
            .filter(denial::Column::ClaimId.is_in(chunk.iter().copied()))
            .filter(denial::Column::Status.is_in([DenialStatus::Open.as_str(), DenialStatus::InProgress.as_str()]))
            .into_tuple()
            .all(txn)
            .await?;
        for denial_id in open {
            match denials::act(txn, denial_id, &DenialAction::Resubmit, Some(note.to_owned()), actor).await {
                Ok(_) => resubmitted.push(denial_id),
                Err(denials::ActError::Db(e)) => return Err(e),
                // Moved by someone else meanwhile: it is no longer open.
                Err(_) => {}
            }
        }
    }
    Ok(resubmitted)
}
