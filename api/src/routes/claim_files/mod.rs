//! `/v1/claim-files`: claims as X12 837 files (837P, 837I), and the 999 answered for each.

mod output;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use overturn_domain::FieldError;
use overturn_domain::audit::AuditAction;
use overturn_domain::x12::claim837;
use overturn_entity::claim_file;
use overturn_service::claim_files::{self, ExportError, Incoming};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub use output::{ClaimFile, ClaimFileClaim, ClaimFileList, ClaimFileSummary, SegmentError};

use crate::auth::{Allowed, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::pagination::Page;
use crate::state::AppState;

fn require_x12(req: &HttpRequest) -> Result<(), ApiError> {
    crate::routes::require_x12(req, "an X12 837 file")
}

/// Receive a claim file.
///
/// An X12 837P (005010X222A1) or 837I (005010X223A2) file: any delimiters its ISA declares,
/// several ISA/GS/ST envelopes, many claims. Envelope errors (ISA/IEA, GS/GE, ST/SE counts and
/// control numbers) refuse the whole file with the segment at fault, and nothing is stored.
/// Otherwise each claim (2300 loop) has its own outcome: `created`; `rejected`, with the
/// faults naming segment and element (a fault in a billing provider, subscriber or patient
/// loop rejects every claim under it); or `duplicate` of a claim already on file. One bad claim
/// never sinks the others. The file, its claims and its 999 are stored in one transaction.
#[utoipa::path(
    tag = "claim-files",
    request_body(
        description = "An X12 837P or 837I file",
        content(
            (String = "application/edi-x12", example = "ISA*00*          *00*          *ZZ*CLINIC9        *ZZ*CLEARHOUSE     *261120*0930*^*00501*000000005*0*P*:~GS*HC*…~ST*837*0001*005010X222A1~BHT*0019*00*B5*20261120*0930*CH~…~SE*…~GE*1*5~IEA*1*000000005~"),
            (String = "text/plain"),
        )
    ),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the same key and body return the first response", pattern = "^[!-~]{1,255}$")),
    responses(
        (status = 201, description = "Received: each claim's outcome", body = ClaimFile),
        (status = 400, description = "A file whose envelopes are malformed (the problem names the segment and element)", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/claim-files")]
pub async fn create_claim_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_x12(&req)?;
    let body =
        crate::routes::remittances::read_body(payload, state.settings.max_remittance_bytes, "claim file").await?;
    let key = idempotency::key_from(&req)?.map(|key| idempotency::IdempotencyRecord {
        api_key_id: caller.key_id,
        key,
        request_hash: idempotency::request_hash(&req, &body),
    });
    let t_parse = std::time::Instant::now();
    let file = match claim837::parse_837(&body) {
        Ok(file) => file,
        Err(err) => {
            let err = ApiError::Edi(err);
            return Err(idempotency::check_unusable(&state.db.read, key.as_ref()).await?.unwrap_or(err));
        }
    };
    tracing::debug!(parse = ?t_parse.elapsed(), "claim file parsed");
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    // Each page of claims stored is logged as one access event of this caller.
    let template = crate::audit::event_for(&req, AuditAction::Create, "claim", Vec::new(), Vec::new(), 201);
    let audit = move |ids: Vec<String>, members: Vec<String>| {
        let mut event = template.clone();
        event.id = Uuid::now_v7();
        event.resource_count = ids.len() as i64;
        event.resource_ids = ids;
        let distinct: std::collections::BTreeSet<&String> = members.iter().collect();
        event.member_count = distinct.len() as i64;
        event.member_ids = distinct.into_iter().cloned().collect();
        event
    };
    let actor = overturn_service::denials::Actor { key_id: caller.key_id, name: caller.name.clone() };
    let mut deliveries = 0;
    let response = idempotency::run(&state.db.write, &req, caller.key_id, &body, async |txn| {
        let incoming = Incoming {
            file,
            body: &body,
            content_type: &content_type,
            api_key_id: caller.key_id,
            audit: &audit,
            actor: &actor,
        };
        let received = claim_files::receive(txn, incoming).await?;
        deliveries = received.deliveries;
        crate::audit::note(
            &req,
            AuditAction::Create,
            "claim_file",
            [received.file.id.to_string()],
            Vec::<String>::new(),
        );
        Ok((
            StatusCode::CREATED,
            ClaimFile {
                summary: ClaimFileSummary::from_row(&received.file),
                claims: received.outcomes.iter().map(ClaimFileClaim::from).collect(),
            },
        ))
    })
    .await;
    state.db.forget_statements();
    if deliveries > 0 {
        state.relay_wake.notify_one();
    }
    response
}

/// The claim file an `{id}` path segment names; 404 for one that is not a stored id.
async fn find_file(state: &AppState, id: &str) -> Result<claim_file::Model, ApiError> {
    let not_found = || ApiError::NotFound(format!("no claim file with id {id:?}"));
    let file_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    claim_files::find(&state.db.read, file_id).await?.ok_or_else(not_found)
}

/// Get a claim file: each claim's outcome, with the faults of those rejected.
#[utoipa::path(
    tag = "claim-files",
    params(("id" = Uuid, Path, description = "The claim file's id")),
    responses(
        (status = 200, body = ClaimFile),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/claim-files/{id}")]
pub async fn get_claim_file(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if id.as_str() == "export" {
        return crate::routes::fixed_route_answer(&req);
    }
    let row = find_file(&state, &id).await?;
    let outcomes = claim_files::outcomes_of(&row);
    crate::audit::note(
        &req,
        AuditAction::Read,
        "claim_file",
        [row.id.to_string()],
        outcomes.iter().filter_map(|o| o.member_id.clone()),
    );
    Ok(HttpResponse::Ok().json(ClaimFile {
        summary: ClaimFileSummary::from_row(&row),
        claims: outcomes.iter().map(ClaimFileClaim::from).collect(),
    }))
}

/// The 999 implementation acknowledgment (005010X231A1) of a claim file.
///
/// One 999 transaction set per functional group received; for each 837 transaction set, IK3
/// (segment) and IK4 (element) for every fault, and IK5: `A` accepted, `E` accepted with the
/// faulty claims left out, `R` rejected (a fault in the set's header, or no claim that could
/// be taken). The same bytes every time it is fetched.
#[utoipa::path(
    tag = "claim-files",
    params(("id" = Uuid, Path, description = "The claim file's id")),
    responses(
        (status = 200, description = "The 999", body = String, content_type = "application/edi-x12"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/claim-files/{id}/999")]
pub async fn get_claim_file_999(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = find_file(&state, &id).await?;
    if row.kind != "received" {
        return Err(ApiError::NotFound(format!("claim file {id} is an export Overturn wrote: it has no 999")));
    }
    crate::audit::note(&req, AuditAction::Read, "claim_file", [row.id.to_string()], Vec::<String>::new());
    Ok(HttpResponse::Ok().content_type("application/edi-x12").body(row.acknowledgment))
}

/// A claim file's 837: the bytes received, or those written for an export.
#[utoipa::path(
    tag = "claim-files",
    params(("id" = Uuid, Path, description = "The claim file's id")),
    responses(
        (status = 200, description = "The 837", body = String, content_type = "application/edi-x12"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/claim-files/{id}/837")]
pub async fn get_claim_file_837(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = find_file(&state, &id).await?;
    let body = claim_files::body_of(&state.db.read, row.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("claim file {id} has no stored bytes")))?;
    let members = claim_files::outcomes_of(&row).into_iter().filter_map(|o| o.member_id);
    crate::audit::note(&req, AuditAction::Export, "claim_file", [row.id.to_string()], members);
    Ok(HttpResponse::Ok().content_type("application/edi-x12").body(body))
}

/// The most claims one export holds: one transaction set's worth.
pub const MAX_EXPORT: usize = overturn_domain::x12::claim837::CLAIMS_PER_SET;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The claims to write, in this order: 1 to 5,000 distinct ids of claims received in 837
    /// files, all 837P or all 837I.
    pub claim_ids: Vec<String>,
}

/// Export claims as one 837 file.
///
/// Writes the chosen claims, each with every loop it came with, as one 837 file from their
/// submitter to their receiver, numbered from the same sequence as Overturn's 999s, and stores
/// it: `file_url` downloads it.
#[utoipa::path(
    tag = "claim-files",
    request_body = ExportRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the same key and body return the first response", pattern = "^[!-~]{1,255}$")),
    responses(
        (status = 201, description = "The export file", body = ClaimFile),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A claim that does not exist or came as JSON, or claims of both formats", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/claim-files/export")]
pub async fn export_claims(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency::key_from(&req)?.map(|key| idempotency::IdempotencyRecord {
        api_key_id: caller.key_id,
        key,
        request_hash: idempotency::request_hash(&req, &body),
    });
    let ids = match crate::json::parse_body::<ExportRequest>(&req, &body).and_then(|r| export_ids(&r)) {
        Ok(ids) => ids,
        Err(err) => return Err(idempotency::check_unusable(&state.db.read, key.as_ref()).await?.unwrap_or(err)),
    };
    idempotency::run(&state.db.write, &req, caller.key_id, &body, async |txn| {
        let (row, outcomes) = claim_files::export(txn, &ids, caller.key_id).await?.map_err(|e| match e {
            ExportError::Claims(problems) => ApiError::Unprocessable {
                detail: "some claims cannot be exported".into(),
                errors: problems.into_iter().map(|(i, m)| FieldError::new(format!("claim_ids[{i}]"), m)).collect(),
            },
            ExportError::Write(m) => ApiError::Unprocessable { detail: m, errors: Vec::new() },
        })?;
        crate::audit::note(
            &req,
            AuditAction::Export,
            "claim",
            outcomes.iter().filter_map(|o| o.claim_id.map(|c| c.to_string())),
            outcomes.iter().filter_map(|o| o.member_id.clone()),
        );
        Ok((
            StatusCode::CREATED,
            ClaimFile {
                summary: ClaimFileSummary::from_row(&row),
                claims: outcomes.iter().map(ClaimFileClaim::from).collect(),
            },
        ))
    })
    .await
}

fn export_ids(request: &ExportRequest) -> Result<Vec<Uuid>, ApiError> {
    let mut errors = Vec::new();
    if request.claim_ids.is_empty() || request.claim_ids.len() > MAX_EXPORT {
        errors.push(FieldError::new("claim_ids", format!("must hold 1 to {MAX_EXPORT} claim ids")));
    }
    let mut seen = std::collections::HashSet::new();
    let mut ids = Vec::with_capacity(request.claim_ids.len());
    for (i, text) in request.claim_ids.iter().enumerate().take(MAX_EXPORT) {
        match Uuid::parse_str(text) {
            Ok(id) if !seen.insert(id) => {
                errors.push(FieldError::new(format!("claim_ids[{i}]"), "repeats an earlier id"))
            }
            Ok(id) => ids.push(id),
            Err(_) => errors.push(FieldError::new(format!("claim_ids[{i}]"), "is not a claim id (a UUID)")),
        }
    }
    if errors.is_empty() { Ok(ids) } else { Err(ApiError::validation(errors)) }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimFileListQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// List claim files, newest first.
#[utoipa::path(
    tag = "claim-files",
    params(ClaimFileListQuery),
    responses(
        (status = 200, body = ClaimFileList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/claim-files")]
pub async fn list_claim_files(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    query: web::Query<ClaimFileListQuery>,
) -> Result<web::Json<ClaimFileList>, ApiError> {
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let rows = claim_files::list(&state.db.read, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(web::Json(ClaimFileList { items: rows.iter().map(ClaimFileSummary::from_row).collect(), next_cursor }))
}
