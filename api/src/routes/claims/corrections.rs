//! `POST /v1/claims/{id}/corrections`: a replacement or void of a claim.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use overturn_domain::audit::AuditAction;
use overturn_domain::claim::{MAX_DIAGNOSIS_CODES, MAX_LINES};
use overturn_domain::{ClaimNumber, DiagnosisCode, FieldError, FrequencyCode, PayerId};
use overturn_service::claim_writer::{ClaimAnswer, Outcome};
use overturn_service::corrections::{self, Correction, CorrectionError};
use overturn_service::denials::Actor;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::input::{LineInput, parse_lines};
use super::{ClaimJson, fields, with_lines};
use crate::auth::{Allowed, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::json::{Errors, parse_body, parse_note};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    /// `7` replacement (the claim as it should have been) or `8` void (withdraw it); `1` for a
    /// claim rejected before adjudication (999, 277CA), sent again as an original without
    /// REF*F8, since the payer never assigned it a number.
    #[schema(example = "7", pattern = "^[178]$")]
    pub frequency_code: String,
    /// What the correction changes; what it leaves out stays as it was.
    #[serde(default)]
    pub changes: Option<CorrectionChanges>,
    /// Recorded on each denial it resubmits.
    #[schema(max_length = 4000)]
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionChanges {
    /// A new claim number (CLM01); by default the original's.
    #[schema(min_length = 1, max_length = 38)]
    pub claim_number: Option<String>,
    /// All the claim's diagnosis codes (ICD-10-CM), principal first.
    #[schema(max_items = 12)]
    pub diagnosis_codes: Option<Vec<String>>,
    /// All the claim's service lines, as on `POST /v1/claims` (a line without a date takes the
    /// original's service date): on an institutional claim each with its `revenue_code`, on a
    /// professional one none. A line's `place_of_service`, `diagnosis_pointers` (into the
    /// corrected `diagnosis_codes`) and `ndc` replace the ones of the line at its position;
    /// left out, that line's stay (pointers only while still in range, else the principal).
    /// They need a claim that has its 837 loops (from a file, or sent with 837 fields).
    #[schema(max_items = 50)]
    pub lines: Option<Vec<LineInput>>,
    /// The claim's place of service (CLM05-1) on a professional claim.
    #[schema(pattern = "^[0-9]{2}$")]
    pub place_of_service: Option<String>,
    /// The payer's claim control number to cite (REF*F8); by default CLP07 of the original's
    /// latest payment.
    #[schema(min_length = 1, max_length = 80)]
    pub payer_claim_control_number: Option<String>,
}

/// `diagnosis_count`: how many diagnosis codes the original has, for pointers when the
/// correction does not change them.
fn parse(
    request: &CorrectionRequest,
    default_date: chrono::NaiveDate,
    diagnosis_count: usize,
) -> Result<Correction, ApiError> {
    let mut e = Errors(Vec::new());
    let frequency = match FrequencyCode::parse(&request.frequency_code) {
        Ok(f @ (FrequencyCode::Replacement | FrequencyCode::Void | FrequencyCode::Original)) => Some(f),
        _ => {
            e.0.push(FieldError::new(
                "frequency_code",
                "must be \"7\" (replacement), \"8\" (void), or \"1\" (a rejected claim sent again)",
            ));
            None
        }
    };
    let note = parse_note(request.note.as_deref(), &mut e);
    let empty = CorrectionChanges::default();
    let changes = request.changes.as_ref().unwrap_or(&empty);
    let claim_number =
        changes.claim_number.as_deref().and_then(|n| e.take("changes.claim_number", ClaimNumber::parse(n)));
    let payer_claim_control_number = changes
        .payer_claim_control_number
        .as_deref()
        .and_then(|n| e.take("changes.payer_claim_control_number", PayerId::parse(n)));
    let diagnosis_codes = changes.diagnosis_codes.as_ref().map(|codes| {
        if codes.is_empty() || codes.len() > MAX_DIAGNOSIS_CODES {
            e.0.push(FieldError::new("changes.diagnosis_codes", format!("must hold 1 to {MAX_DIAGNOSIS_CODES} codes")));
        }
        codes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| e.take(format!("changes.diagnosis_codes[{i}]"), DiagnosisCode::parse(c)))
            .collect::<Vec<_>>()
    });
    // Checked as a new claim's place of service is.
    let place_of_service =
        changes.place_of_service.as_deref().and_then(|p| e.take("changes.place_of_service", fields::digits(2, 2)(p)));
    let diagnosis_count = diagnosis_codes.as_ref().map_or(diagnosis_count, Vec::len);
    let mut line_fields = None;
    let lines = changes.lines.as_ref().map(|lines| {
        if lines.is_empty() || lines.len() > MAX_LINES {
            e.0.push(FieldError::new("changes.lines", format!("must hold 1 to {MAX_LINES} service lines")));
        }
        // Each line's place of service, pointers and drug, checked as on a new claim; the
        // fields they name are under `changes`.
        let mut found = Errors(Vec::new());
        let fields: Vec<_> =
            lines.iter().enumerate().map(|(i, l)| fields::line(&mut found, i, l, diagnosis_count)).collect();
        e.0.extend(found.0.into_iter().map(|f| FieldError::new(format!("changes.{}", f.field), f.message)));
        line_fields = Some(fields);
        parse_lines(&mut e, lines, Some(default_date), "changes.lines").into_iter().flatten().collect::<Vec<_>>()
    });
    match frequency {
        Some(frequency) if e.0.is_empty() => Ok(Correction {
            frequency,
            claim_number,
            diagnosis_codes,
            lines,
            line_fields,
            place_of_service,
            payer_claim_control_number,
            note,
        }),
        _ => Err(ApiError::validation(e.0)),
    }
}

/// Correct a claim: a replacement (7) or void (8), or a rejected claim sent again (1).
///
/// Creates a new claim with `frequency_code` 7 or 8 that names the claim it replaces
/// (`replaces_claim_id`), keeps its claim number unless `changes` gives another, and cites the
/// payer's claim control number of the original's latest payment (CLP07), sent as REF*F8. The
/// original's open denials move to `resubmitted`. A claim received in an 837 keeps every loop
/// it came with (`GET /v1/claims/{id}/837` writes the correction). One correction per claim:
/// to correct again, correct the correction. A claim rejected before adjudication (status
/// `rejected`, from a 999 or 277CA) is corrected with `frequency_code` 1: a new original under
/// the same number, without REF*F8; this closes its rejection.
#[utoipa::path(
    tag = "claims",
    request_body = CorrectionRequest,
    params(
        ("id" = Uuid, Path, description = "The claim to correct"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the same key and body return the first response", pattern = "^[!-~]{1,255}$"),
    ),
    responses(
        (status = 201, description = "The correction, a new claim", body = super::Claim),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The claim was already replaced, or is a void", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No payer's claim control number to cite yet, or a change the claim's 837 cannot take", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/claims/{id}/corrections")]
pub async fn correct_claim(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no claim with id {:?}", id.as_str()));
    let original_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let original = overturn_service::claims::find(&state.db.read, original_id).await?.ok_or_else(not_found)?;
    let request: CorrectionRequest = parse_body(&req, &body)?;
    let diagnosis_count = original.diagnosis_codes.as_array().map_or(0, Vec::len);
    let correction = parse(&request, original.service_date, diagnosis_count)?;
    let actor = Actor { key_id: caller.key_id, name: caller.name.clone() };
    let response = idempotency::run(&state.db.write, &req, caller.key_id, &body, async |txn| {
        let corrected = corrections::correct(txn, original_id, &correction, &actor, None, &ClaimJson).await?.map_err(
            |e| match e {
                CorrectionError::NotFound(_) => not_found(),
                e @ (CorrectionError::Replaced { .. }
                | CorrectionError::Voided(_)
                | CorrectionError::NumberTaken(_)) => ApiError::Conflict(e.to_string()),
                e => ApiError::Unprocessable { detail: e.to_string(), errors: Vec::new() },
            },
        )?;
        let claim = &corrected.claim;
        crate::audit::note(
            &req,
            AuditAction::Create,
            "claim",
            [claim.id.to_string()],
            [claim.patient_member_id.clone()],
        );
        let shown = match corrected.outcome {
            Outcome::Stored(stored) => {
                let body = ClaimJson
                    .created(&stored.claim, &stored.lines, &stored.follow_ups, stored.detail.as_ref())
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering the claim: {e}")))?;
                serde_json::from_str::<serde_json::Value>(&body).map_err(|e| ApiError::Internal(e.into()))?
            }
            _ => {
                let mut shown = with_lines(txn, vec![claim.clone()]).await?;
                serde_json::to_value(shown.pop()).map_err(|e| ApiError::Internal(e.into()))?
            }
        };
        Ok((StatusCode::CREATED, shown))
    })
    .await;
    state.relay_wake.notify_one();
    response
}
