//! `POST /v1/claims/scrub`: the edits a claim would get, without storing anything.

use actix_web::{HttpRequest, HttpResponse, post, web};
use overturn_domain::scrub::{Edit, Severity};
use serde::Serialize;
use utoipa::ToSchema;

use super::input::{self, CreateClaimRequest};
use crate::auth::{Allowed, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::json::parse_body;
use crate::state::AppState;

/// The set and version an edit comes from.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditSource {
    /// `icd10cm`, `hcpcs`, `ncci_ptp`, `mue`, `pos`, `claim` (the claim's own consistency) or
    /// `payer_rules`.
    #[schema(example = "icd10cm")]
    pub set: String,
    #[schema(example = "FY2026 (April 2026 release, shipped)")]
    pub version: String,
}

/// One edit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimEdit {
    #[schema(example = "ICD10_NOT_BILLABLE")]
    pub code: String,
    /// `error` refuses the claim (unless `?scrub=warn`); `warning` is kept on it.
    #[schema(example = "error")]
    pub severity: String,
    /// The field of the claim body: `diagnosis_codes[0]`, `lines[1].procedure_code`, …
    #[schema(example = "diagnosis_codes[0]")]
    pub field: String,
    #[schema(example = "E11 is a header in FY2026, not billable: code it to the most specific level, such as E11.00")]
    pub message: String,
    pub source: EditSource,
}

impl From<Edit> for ClaimEdit {
    fn from(e: Edit) -> Self {
        Self {
            code: e.code,
            severity: match e.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            }
            .to_owned(),
            field: e.field,
            message: e.message,
            source: EditSource { set: e.source.set, version: e.source.version },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScrubResult {
    /// Errors and warnings, in the claim's order; empty for a clean claim.
    pub edits: Vec<ClaimEdit>,
}

/// Scrub a claim (dry run).
///
/// The body is a claim as `POST /v1/claims` takes it. Answers the edits the claim would get:
/// ICD-10-CM codes that do not exist or are not billable in the fiscal year of their dates of
/// service, HCPCS Level II codes not in force, NCCI procedure pairs and MUE units (once
/// imported), place-of-service codes, and the claim's own consistency (diagnosis pointers,
/// line dates, modifiers). Nothing is stored.
#[utoipa::path(
    tag = "claims",
    request_body = CreateClaimRequest,
    responses(
        (status = 200, description = "The edits", body = ScrubResult),
        (status = 400, description = "Malformed or invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/claims/scrub")]
pub async fn scrub_claim(
    req: HttpRequest,
    state: web::Data<AppState>,
    _caller: Allowed<WriteBilling>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request = parse_body::<CreateClaimRequest>(&req, &body)?;
    let parsed = input::parse(request, overturn_service::sql::now()).map_err(ApiError::validation)?;
    let edits = state.code_sets.scrub(&parsed.draft, Some(&parsed.fields));
    Ok(HttpResponse::Ok().json(ScrubResult { edits: edits.into_iter().map(ClaimEdit::from).collect() }))
}
