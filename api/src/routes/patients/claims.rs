//! One patient's claims, denials and balance.

use actix_web::{HttpRequest, get, web};
use overturn_domain::audit::AuditAction;
use overturn_service::patients::{self, PatientError};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::output::{BalanceClaim, BalanceShare, PatientBalance, PatientClaim, PatientClaimList, PatientDenial};
use crate::audit;
use crate::auth::{ForPatient, ReadPatient};
use crate::error::{ApiError, Problem};
use crate::routes::claims::{ClaimListQuery, Payer, parse_list, with_parts};
use crate::routes::stored_money as money;
use crate::state::AppState;

impl From<PatientError> for ApiError {
    fn from(err: PatientError) -> Self {
        match err {
            PatientError::Db(e) => e.into(),
            PatientError::Corrupt(_) => Self::Internal(err.into()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientClaimListQuery {
    /// Exact claim number.
    pub claim_number: Option<String>,
    /// Exact payer id.
    pub payer_id: Option<String>,
    /// `submitted`, `paid`, `partially_paid`, `denied` or `reversed`.
    #[param(pattern = "^(submitted|paid|partially_paid|denied|reversed)?$")]
    pub status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// A patient's claims, newest first, in the patient-facing form.
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path, description = "The patient's member id"), PatientClaimListQuery),
    responses(
        (status = 200, body = PatientClaimList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A patient session of another member", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("patient_session" = []))
)]
#[get("/patients/{member_id}/claims")]
pub async fn list_patient_claims(
    state: web::Data<AppState>,
    caller: ForPatient<ReadPatient>,
    req: HttpRequest,
    query: web::Query<PatientClaimListQuery>,
) -> Result<web::Json<PatientClaimList>, ApiError> {
    let query = query.into_inner();
    let (page, filter) = parse_list(&ClaimListQuery {
        claim_number: query.claim_number,
        payer_id: query.payer_id,
        member_id: Some(caller.member_id.clone()),
        status: query.status,
        limit: query.limit,
        cursor: query.cursor,
    })?;
    let rows = overturn_service::claims::list(&state.db.read, &filter, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    audit::note(&req, AuditAction::Read, "claim", rows.iter().map(|r| r.id.to_string()), [caller.member_id.clone()]);
    let items = with_parts(&state.db.read, rows, false).await?.into_iter().map(PatientClaim::from).collect();
    Ok(web::Json(PatientClaimList { items, next_cursor }))
}

/// One of a patient's claims; another patient's is 404.
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path, description = "The patient's member id"), ("id" = Uuid, Path, description = "The claim's id")),
    responses(
        (status = 200, body = PatientClaim),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("patient_session" = []))
)]
#[get("/patients/{member_id}/claims/{id}")]
pub async fn get_patient_claim(
    state: web::Data<AppState>,
    caller: ForPatient<ReadPatient>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<web::Json<PatientClaim>, ApiError> {
    let id = &path.1;
    // Noted before the look-up: a miss on another patient's id is an attempt worth keeping.
    audit::note(&req, AuditAction::Read, "claim", [id.clone()], [caller.member_id.clone()]);
    let not_found = || ApiError::NotFound(format!("no claim {id:?} of this patient"));
    let claim_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let row = patients::claim(&state.db.read, &caller.member_id, claim_id).await?.ok_or_else(not_found)?;
    let mut claims = with_parts(&state.db.read, vec![row], false).await?;
    claims.pop().map(|c| web::Json(c.into())).ok_or_else(not_found)
}

/// One of a patient's denials; another patient's is 404.
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path, description = "The patient's member id"), ("id" = Uuid, Path, description = "The denial's id")),
    responses(
        (status = 200, body = PatientDenial),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("patient_session" = []))
)]
#[get("/patients/{member_id}/denials/{id}")]
pub async fn get_patient_denial(
    state: web::Data<AppState>,
    caller: ForPatient<ReadPatient>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<web::Json<PatientDenial>, ApiError> {
    let id = &path.1;
    audit::note(&req, AuditAction::Read, "denial", [id.clone()], [caller.member_id.clone()]);
    let not_found = || ApiError::NotFound(format!("no denial {id:?} of this patient"));
    let denial_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let row = patients::denial(&state.db.read, &caller.member_id, denial_id).await?.ok_or_else(not_found)?;
    let mut shown = crate::routes::denials::describe_plain(&state.db.read, std::slice::from_ref(&row)).await?;
    shown.pop().map(|d| web::Json(d.into())).ok_or_else(not_found)
}

/// What a patient owes: the total, and the newest 500 claims that make it up with the share
/// of each by PR reason (deductible, coinsurance, copay, …).
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path, description = "The patient's member id")),
    responses(
        (status = 200, body = PatientBalance),
        (status = 404, description = "A patient session of another member", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("patient_session" = []))
)]
#[get("/patients/{member_id}/balance")]
pub async fn get_patient_balance(
    state: web::Data<AppState>,
    caller: ForPatient<ReadPatient>,
    req: HttpRequest,
) -> Result<web::Json<PatientBalance>, ApiError> {
    let balance = patients::balance(&state.db.read, &caller.member_id).await?;
    audit::note(
        &req,
        AuditAction::Read,
        "balance",
        balance.claims.iter().map(|c| c.claim.id.to_string()),
        [caller.member_id.clone()],
    );
    let reasons = overturn_service::code_catalog::describe(
        &state.db.read,
        overturn_domain::code_sets::CodeList::Carc,
        balance.claims.iter().flat_map(|c| c.breakdown.iter().map(|(reason, _)| reason.clone())),
    )
    .await?;
    let claims = balance
        .claims
        .into_iter()
        .map(|owed| BalanceClaim {
            claim_id: owed.claim.id,
            claim_number: owed.claim.claim_number,
            service_date: owed.claim.service_date,
            payer: Payer { id: owed.claim.payer_id, name: owed.claim.payer_name, ..Default::default() },
            patient_responsibility: money(owed.claim.patient_responsibility_cents),
            breakdown: owed
                .breakdown
                .into_iter()
                .map(|(reason_code, cents)| BalanceShare {
                    group_code: "PR".into(),
                    reason_description: reasons.get(&reason_code).cloned(),
                    reason_code,
                    amount: money(cents),
                })
                .collect(),
        })
        .collect();
    Ok(web::Json(PatientBalance {
        member_id: caller.member_id.clone(),
        total_due: money(balance.total_due_cents),
        claim_count: balance.claim_count,
        claims,
    }))
}
