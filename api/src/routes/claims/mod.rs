//! `/v1/claims`: create, get, list.

mod answer;
mod corrections;
mod fields;
mod input;
mod output;
mod scrub;
mod x12;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use overturn_domain::scrub::Severity;
use overturn_domain::{ClaimNumber, ClaimStatus, FieldError, MemberId, PayerId};
use overturn_entity::claim;
use overturn_service::claims::{self, ClaimFilter};
use overturn_service::idempotency::Claimed;
use sea_orm::{ConnectionTrait, DbErr};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub use answer::ClaimJson;
pub use corrections::{CorrectionChanges, CorrectionRequest, correct_claim};
pub use input::{CreateClaimRequest, LineInput, PatientInput, PayerInput, ProviderInput};
pub use output::{Claim, ClaimLine, ClaimList, Patient, Payer, Provider};
pub use scrub::{ClaimEdit, EditSource, ScrubResult, scrub_claim};
pub use x12::get_claim_837;

use crate::audit;
use crate::auth::{Allowed, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, IdempotencyRecord};
use crate::json::parse_body;
use crate::pagination::Page;
use crate::state::AppState;
use overturn_domain::audit::AuditAction;
use overturn_domain::x12::claim837::{self, ClaimFields};
use overturn_service::claim_writer::{ClaimAnswer, ClaimDetail, Outcome, PendingClaim};

/// Create a claim.
///
/// Codes are format-checked, the NPI check digit verified, and money must be a decimal
/// string with at most two places. `total_charge` is the sum of the line charges. The claim
/// is scrubbed first (as `POST /v1/claims/scrub` does): an `error` edit refuses it with 422
/// and every edit, unless `?scrub=warn`; the edits it is stored with are its `edits`.
#[utoipa::path(
    tag = "claims",
    request_body = CreateClaimRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the same key and body return the first response", pattern = "^[!-~]{1,255}$"),
        ("scrub" = Option<String>, Query, description = "`error` (the default): an error edit refuses the claim; `warn`: the claim is stored with its edits", pattern = "^(error|warn)$"),
    ),
    responses(
        (status = 201, description = "Created", body = Claim),
        (status = 400, description = "Malformed or invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A claim with this claim_number exists", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The scrubber found errors (`edits` lists every edit)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/claims")]
pub async fn create_claim(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let idempotency = idempotency::key_from(&req)?.map(|key| IdempotencyRecord {
        api_key_id: caller.key_id,
        key,
        request_hash: idempotency::request_hash(&req, &body),
    });
    let now = overturn_service::sql::now();
    let parsed = parse_body::<CreateClaimRequest>(&req, &body)
        .and_then(|request| input::parse(request, now).map_err(ApiError::validation));
    let input::Parsed { draft, submitted_at, mut fields } = match parsed {
        Ok(parsed) => parsed,
        // A key already used for another request is refused as such, even when the new body is also invalid.
        Err(err) => {
            return Err(idempotency::check_unusable(&state.db.read, idempotency.as_ref()).await?.unwrap_or(err));
        }
    };
    // The scrubber's edits: an error refuses the claim unless the caller asked for warnings.
    let edits = state.code_sets.scrub(&draft, Some(&fields));
    let warn_only = scrub_mode(&req)?;
    let errors = edits.iter().filter(|e| e.severity == Severity::Error).count();
    if errors > 0 && !warn_only {
        let first = edits.iter().find(|e| e.severity == Severity::Error).map(|e| e.message.clone()).unwrap_or_default();
        let detail = if errors == 1 {
            format!("the claim would be refused: {first}")
        } else {
            format!("the claim would be refused for {errors} errors, the first: {first}")
        };
        // The same request sent again after the code sets changed still gets its first answer.
        if let Some(record) = idempotency.as_ref() {
            match overturn_service::idempotency::earlier_use(&state.db.read, record).await? {
                Some(Claimed::Replay { status, body }) => return Ok(idempotency::replay(status, body)),
                Some(Claimed::Mismatch) => return Err(ApiError::IdempotencyMismatch),
                _ => {}
            }
        }
        return Err(ApiError::Scrubbed { detail, edits });
    }
    let (mut row, lines) = claims::rows_of(&draft, submitted_at, now);
    if !edits.is_empty() {
        row.edits = Some(serde_json::to_string(&edits).map_err(|e| ApiError::Internal(e.into()))?);
    }
    audit::note(&req, AuditAction::Create, "claim", [row.id.to_string()], [row.patient_member_id.clone()]);
    let audit = audit::for_transaction(&req, 201);
    // A claim with 837 fields keeps them as the loops of the 837 they make; the practice's
    // submitter and receiver, when configured, stand in for those it does not name.
    let detail = (fields != ClaimFields::default())
        .then(|| {
            fields.submitter = fields.submitter.take().or_else(|| state.settings.submitter.clone());
            fields.receiver = fields.receiver.take().or_else(|| state.settings.receiver.clone());
            ClaimDetail::new(None, claim837::build(&draft, &fields), true)
        })
        .transpose()?;
    let outcome = state.claims.write(PendingClaim { claim: row, lines, idempotency, audit, detail }).await?;
    if !matches!(outcome, Outcome::Created(_) | Outcome::Stored(_)) {
        audit::not_written(&req);
    }
    match outcome {
        Outcome::Created(body) => Ok(HttpResponse::Created().content_type("application/json").body(body)),
        Outcome::Stored(stored) => {
            let body = ClaimJson
                .created(&stored.claim, &stored.lines, &stored.follow_ups, stored.detail.as_ref())
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("rendering the claim: {e}")))?;
            Ok(HttpResponse::Created().content_type("application/json").body(body))
        }
        Outcome::Replayed { status, body } => Ok(idempotency::replay(status, body)),
        Outcome::IdempotencyMismatch => Err(ApiError::IdempotencyMismatch),
        Outcome::DuplicateClaimNumber => Err(ApiError::Conflict(format!(
            "a claim with claim_number {:?} already exists",
            draft.claim_number.as_str()
        ))),
    }
}

#[derive(Deserialize)]
struct ScrubQuery {
    scrub: Option<String>,
}

/// `?scrub=warn` stores a claim despite its error edits; `?scrub=error` (the default) refuses it.
fn scrub_mode(req: &HttpRequest) -> Result<bool, ApiError> {
    let query = web::Query::<ScrubQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("the query string is malformed: {e}")))?;
    match query.scrub.as_deref() {
        None | Some("error") => Ok(false),
        Some("warn") => Ok(true),
        Some(other) => {
            Err(ApiError::validation(vec![FieldError::new("scrub", format!("{other:?} is not warn or error"))]))
        }
    }
}

/// Get a claim.
#[utoipa::path(
    tag = "claims",
    params(("id" = Uuid, Path, description = "The claim's id")),
    responses(
        (status = 200, body = Claim),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/claims/{id}")]
pub async fn get_claim(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // `GET /v1/claims/scrub` lands here: answer as that POST-only route does (405).
    if id.as_str() == "scrub" {
        return crate::routes::fixed_route_answer(&req);
    }
    let not_found = || ApiError::NotFound(format!("no claim with id {:?}", id.as_str()));
    let claim_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let row = claims::find(&state.db.read, claim_id).await?.ok_or_else(not_found)?;
    audit::note(&req, AuditAction::Read, "claim", [row.id.to_string()], [row.patient_member_id.clone()]);
    let mut claims = with_lines(&state.db.read, vec![row]).await?;
    claims.pop().map(|claim| HttpResponse::Ok().json(claim)).ok_or_else(not_found)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimListQuery {
    /// Exact claim number.
    pub claim_number: Option<String>,
    /// Exact payer id.
    pub payer_id: Option<String>,
    /// Exact patient member id.
    pub member_id: Option<String>,
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

/// List claims, newest first.
#[utoipa::path(
    tag = "claims",
    params(ClaimListQuery),
    responses(
        (status = 200, body = ClaimList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/claims")]
pub async fn list_claims(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    query: web::Query<ClaimListQuery>,
) -> Result<web::Json<ClaimList>, ApiError> {
    let (page, filter) = parse_list(&query)?;
    let rows = claims::list(&state.db.read, &filter, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    note_claims(&req, &rows);
    let items = with_lines(&state.db.read, rows).await?;
    Ok(web::Json(ClaimList { items, next_cursor }))
}

/// The PHI access of a page of claims.
pub(crate) fn note_claims(req: &HttpRequest, rows: &[claim::Model]) {
    audit::note(
        req,
        AuditAction::Read,
        "claim",
        rows.iter().map(|r| r.id.to_string()),
        rows.iter().map(|r| r.patient_member_id.clone()),
    );
}

/// The page and filter of a claim list query.
pub(crate) fn parse_list(query: &ClaimListQuery) -> Result<(Page, ClaimFilter), ApiError> {
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(status) => Some(ClaimStatus::parse(status).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new(
                "status",
                "must be one of submitted, paid, partially_paid, denied, reversed",
            )])
        })?),
    };
    // Filters are parsed like the fields they match: a value no claim could hold (a NUL byte,
    // say, which PostgreSQL refuses in text) is the client's mistake, not a server error.
    let mut errors = Vec::new();
    // An empty value (`?payer_id=`) is no filter, as forms and query builders send it.
    let mut filter = |field: &'static str, value: &Option<String>, parse: fn(&str) -> bool| match value {
        Some(v) if v.is_empty() => None,
        Some(v) if !parse(v) => {
            errors.push(FieldError::new(field, "is not a value this field can hold"));
            None
        }
        other => other.clone(),
    };
    let claim_number = filter("claim_number", &query.claim_number, |v| ClaimNumber::parse(v).is_ok());
    let payer_id = filter("payer_id", &query.payer_id, |v| PayerId::parse(v).is_ok());
    let member_id = filter("member_id", &query.member_id, |v| MemberId::parse(v).is_ok());
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok((page, ClaimFilter { status, claim_number, payer_id, member_id }))
}

/// Loads the lines, denials and (for the billing team's form) follow-ups of many claims,
/// one query each.
pub(crate) async fn with_lines<C: ConnectionTrait>(db: &C, rows: Vec<claim::Model>) -> Result<Vec<Claim>, DbErr> {
    with_parts(db, rows, true).await
}

pub(crate) async fn with_parts<C: ConnectionTrait>(
    db: &C,
    rows: Vec<claim::Model>,
    follow_ups: bool,
) -> Result<Vec<Claim>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    // The loops are a query of their own, sent beside the lines' rather than after them (on a
    // pool, two connections at once): most claims have none, and a page should not wait twice.
    let (mut by_claim, details) =
        futures::try_join!(claims::lines_of(db, &ids), overturn_service::claim_files::details_of(db, &ids))?;
    let (denial_rows, mut denial_counts) =
        overturn_service::denials::first_of_claims(db, &ids, output::EMBEDDED).await?;
    let mut denials: std::collections::BTreeMap<Uuid, Vec<crate::routes::denials::DenialDetail>> = Default::default();
    for (row, shown) in denial_rows.iter().zip(crate::routes::denials::describe(db, &denial_rows).await?) {
        if let Some(claim) = row.claim_id {
            denials.entry(claim).or_default().push(shown);
        }
    }
    let (mut follow_ups, mut follow_up_counts) = if follow_ups {
        overturn_service::followups::worklist::first_of_claims(db, &ids, output::EMBEDDED).await?
    } else {
        Default::default()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let lines = by_claim.remove(&row.id).unwrap_or_default();
            let id = row.id;
            let mut claim = Claim::from_rows(row, lines).with_detail(details.get(&id));
            claim.denials = denials.remove(&id).unwrap_or_default();
            claim.denial_count = denial_counts.remove(&id).unwrap_or(0);
            claim.follow_ups = follow_ups
                .remove(&id)
                .unwrap_or_default()
                .iter()
                .map(crate::routes::followups::FollowUp::from_row)
                .collect();
            claim.follow_up_count = follow_up_counts.remove(&id).unwrap_or(0);
            claim
        })
        .collect())
}
