//! `GET /v1/claims/{id}/837`: a claim written back out as a one-claim 837 file.

use actix_web::{HttpRequest, HttpResponse, get, web};
use overturn_domain::audit::AuditAction;
use overturn_domain::x12::claim837::{self, write_837};
use overturn_service::claim_files;
use overturn_service::claims;
use uuid::Uuid;

use crate::auth::{Allowed, ReadBilling};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// A claim as a one-claim 837 file.
///
/// A claim received in an 837 comes back in the same shape (837P or 837I), with every loop
/// it came with, under a fresh envelope (from its file's submitter to its receiver) and
/// hierarchy. The control number is the claim's own, the same on every fetch; a file to
/// submit is better made with `POST /v1/claim-files/export`, which numbers each file anew.
#[utoipa::path(
    tag = "claims",
    params(("id" = Uuid, Path, description = "The claim's id")),
    responses(
        (status = 200, description = "The 837", body = String, content_type = "application/edi-x12"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The claim holds too little to be written as an 837 (a JSON claim without the billing provider's address and tax id)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/claims/{id}/837")]
pub async fn get_claim_837(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no claim with id {:?}", id.as_str()));
    let claim_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let row = claims::find(&state.db.read, claim_id).await?.ok_or_else(not_found)?;
    crate::audit::note(&req, AuditAction::Export, "claim", [row.id.to_string()], [row.patient_member_id.clone()]);
    let stored = claim_files::detail_of(&state.db.read, claim_id).await?;
    let lacking = match &stored {
        None => claim837::lacking_without_fields(),
        Some(s) => s.lacking.clone(),
    };
    let Some(stored) = stored.filter(|_| lacking.is_empty()) else {
        return Err(ApiError::Unprocessable {
            detail: format!(
                "claim {claim_id} lacks what an 837 needs: {}",
                lacking.iter().map(|e| e.field.as_str()).collect::<Vec<_>>().join(", ")
            ),
            errors: lacking,
        });
    };
    let stored = [stored];
    // The claim's own number: stable across fetches, and apart from the export sequence.
    let number = (u32::from_be_bytes(claim_id.as_bytes()[12..16].try_into().unwrap_or_default()) % 999_999_999) + 1;
    let envelope = claim_files::envelope_for(&stored, number, overturn_service::sql::now());
    let text = write_837(&stored, &envelope)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing claim {claim_id} as an 837: {e}")))?;
    Ok(HttpResponse::Ok().content_type("application/edi-x12").body(text))
}
