//! `/v1/remittances`: payer responses in, as X12 835 files or the JSON form.

mod json_form;
pub(crate) mod output;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use overturn_domain::x12::{self, RemittanceFile};
use overturn_entity::remittance;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub use json_form::{
    AdjustmentInput, ClaimPaymentInput, LinePaymentInput, PatientRef, PaymentInput, ProviderAdjustmentInput,
    RemittancePayee, RemittancePayer, RemittanceRequest,
};
pub use output::{
    AdjustmentOut, ClaimPaymentDetail, ClaimPaymentSummary, LinePaymentOut, PaymentDetail, PaymentPatient,
    ProviderAdjustmentOut, Remittance, RemittanceAccepted, RemittanceClaimList, RemittanceList, RemittanceSummary,
    RemittanceTransaction, RemittanceWarning,
};

use overturn_domain::code_sets::CodeList;

use crate::auth::{Allowed, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, IdempotencyRecord};
use crate::json::{media_type, parse_body};
use crate::pagination::{MAX_LIMIT, Page};
use crate::state::AppState;
use overturn_domain::audit::AuditAction;
use overturn_service::code_catalog;
use overturn_service::remittance_store::{self, Incoming};
use overturn_service::remittances;

#[derive(Clone, Copy)]
enum Format {
    X12,
    Json,
}

impl Format {
    /// What `remittances.source` records.
    fn source(self) -> &'static str {
        match self {
            Self::X12 => "x12",
            Self::Json => "json",
        }
    }
}

fn format_of(req: &HttpRequest) -> Result<Format, ApiError> {
    let (content_type, essence) = media_type(req);
    match essence.as_str() {
        "application/edi-x12" | "application/edi_x12" | "application/x12" | "text/plain" => Ok(Format::X12),
        "application/json" => Ok(Format::Json),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "send an X12 835 file as application/edi-x12 (or text/plain), or the JSON form as application/json (got {:?})",
            if content_type.is_empty() { "no Content-Type" } else { content_type }
        ))),
    }
}

/// Reads the body of an X12 file (`what`: "remittance", "claim file") up to the file limit,
/// which is far above the JSON one: a payer's file can hold a hundred thousand claims.
pub(crate) async fn read_body(payload: web::Payload, limit: usize, what: &str) -> Result<web::Bytes, ApiError> {
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => Err(ApiError::BadRequest(format!("the request body could not be read: {e}"))),
        Err(_) => Err(ApiError::PayloadTooLarge(format!(
            "the {what} is larger than {limit} bytes (OVERTURN_MAX_REMITTANCE_BYTES); split the file"
        ))),
    }
}

/// Receive a payer response.
///
/// An X12 005010X221A1 835 file (`application/edi-x12` or `text/plain`; any delimiters its
/// ISA declares, several ISA/GS/ST envelopes, with or without line breaks), or the JSON form
/// (`application/json`, one payment). Envelopes, segment counts, control numbers, amounts,
/// dates and balancing are checked; a file that fails any check is refused with the segment
/// (or JSON field) at fault and nothing of it is stored. Missing situational segments are
/// accepted with a warning.
///
/// Claim payments are matched to claims by claim number (CLP01), then the payer's claim
/// control number (CLP07), then line control numbers (REF*6R); unmatched ones are kept and
/// matched when their claim is created. A payment already received (same payer id and trace
/// number) is reported as a duplicate and not applied again. The file, its payments and the
/// classification job are stored in one transaction.
#[utoipa::path(
    tag = "remittances",
    request_body(
        description = "An X12 835 file, or the JSON form",
        content(
            (String = "application/edi-x12", example = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *261120*1200*^*00501*000000001*0*P*:~GS*HP*…~ST*835*0001~BPR*I*…~…~SE*…~GE*1*1~IEA*1*000000001~"),
            (String = "text/plain"),
            (RemittanceRequest = "application/json"),
        )
    ),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the same key and body return the first response", pattern = "^[!-~]{1,255}$")),
    responses(
        (status = 202, description = "Accepted and stored", body = RemittanceAccepted),
        (status = 400, description = "A malformed or unbalanced file (the problem names the segment and element), or an invalid JSON form (the problem names the fields)", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/remittances")]
pub async fn create_remittance(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let format = format_of(&req)?;
    let body = read_body(payload, state.settings.max_remittance_bytes, "remittance").await?;
    let idempotency = idempotency::key_from(&req)?.map(|key| IdempotencyRecord {
        api_key_id: caller.key_id,
        key,
        request_hash: idempotency::request_hash(&req, &body),
    });
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();

    // Parse before the transaction: a refused file never holds a connection.
    let json_request = match format {
        Format::Json => match parse_body::<RemittanceRequest>(&req, &body) {
            Ok(mut request) => {
                json_form::prepare(&mut request);
                Some(request)
            }
            Err(err) => {
                return Err(idempotency::check_unusable(&state.db.read, idempotency.as_ref()).await?.unwrap_or(err));
            }
        },
        Format::X12 => None,
    };
    let t_parse = std::time::Instant::now();
    let file = match &json_request {
        None => x12::parse_835(&body).map_err(ApiError::Edi),
        Some(request) => json_form::to_transaction(request).map_err(ApiError::validation).and_then(|(tx, paths)| {
            x12::check_balance(&tx, 0).map_err(|err| {
                let field = paths.get(err.segment_index).cloned().unwrap_or_else(|| "claims".to_owned());
                ApiError::validation(vec![overturn_domain::FieldError::new(field, err.message)])
            })?;
            Ok(RemittanceFile { transactions: vec![tx] })
        }),
    };
    let file = match file {
        Ok(file) => file,
        Err(err) => {
            return Err(idempotency::check_unusable(&state.db.read, idempotency.as_ref()).await?.unwrap_or(err));
        }
    };
    tracing::debug!(parse = ?t_parse.elapsed(), "remittance parsed");
    let t_store = std::time::Instant::now();
    let incoming = Incoming {
        source: format.source(),
        content_type: &content_type,
        body: &body,
        file: &file,
        api_key_id: caller.key_id,
    };
    let response = idempotency::run(&state.db.write, &req, caller.key_id, &body, async |txn| {
        let stored = remittance_store::store(txn, incoming).await?;
        note_payments(&req, AuditAction::Create, "remittance", [stored.remittance.id.to_string()], &stored.payments);
        Ok((
            StatusCode::ACCEPTED,
            RemittanceAccepted {
                summary: RemittanceSummary::from_row(&stored.remittance),
                transactions: stored.transactions.iter().map(RemittanceTransaction::from_row).collect(),
                claims: stored.payments.iter().map(ClaimPaymentSummary::from_row).collect(),
            },
        ))
    })
    .await;
    tracing::debug!(store_and_respond = ?t_store.elapsed(), "remittance committed");
    state.db.forget_statements();
    // Committed: the classification job is in the outbox; hand it over now, not at the next poll.
    state.relay_wake.notify_one();
    response
}

/// Get a remittance with its transactions, warnings, and its first 500 claim payments with their
/// adjustments, remark codes and lines (`claims_next_cursor` leads to the rest).
#[utoipa::path(
    tag = "remittances",
    params(("id" = Uuid, Path, description = "The remittance's id")),
    responses(
        (status = 200, body = Remittance),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/remittances/{id}")]
pub async fn get_remittance(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<Remittance>, ApiError> {
    let db = &state.db.read;
    let row = find_remittance(db, &id).await?;
    let remittance_id = row.id;
    let transactions = remittances::transactions_of(db, remittance_id).await?;
    // The first page of claim payments; a payer file can hold a hundred thousand of them,
    // the rest come from `/claims`.
    let page = Page { limit: MAX_LIMIT, after: None };
    let (claims, claims_next_cursor, remark_descriptions) = claim_page(db, &req, remittance_id, page).await?;
    Ok(web::Json(Remittance {
        summary: RemittanceSummary::from_row(&row),
        transactions: transactions.iter().map(RemittanceTransaction::from_row).collect(),
        claims,
        claims_next_cursor,
        remark_descriptions,
    }))
}

/// The PHI access of a request on claim payments: the patients their 835 names.
fn note_payments(
    req: &HttpRequest,
    action: AuditAction,
    resource_type: &'static str,
    ids: impl IntoIterator<Item = String>,
    payments: &[overturn_entity::claim_payment::Model],
) {
    let members = payments.iter().filter_map(|p| p.patient_member_id.clone()).filter(|m| !m.is_empty());
    crate::audit::note(req, action, resource_type, ids, members);
}

/// The remittance an `{id}` path segment names; 404 for one that is not a stored id.
async fn find_remittance(db: &sea_orm::DatabaseConnection, id: &str) -> Result<remittance::Model, ApiError> {
    let not_found = || ApiError::NotFound(format!("no remittance with id {id:?}"));
    let remittance_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    remittances::find(db, remittance_id).await?.ok_or_else(not_found)
}

/// Claim payments of a remittance in file order, with their codes described.
async fn claim_page(
    db: &sea_orm::DatabaseConnection,
    req: &HttpRequest,
    remittance_id: Uuid,
    page: Page,
) -> Result<(Vec<ClaimPaymentDetail>, Option<String>, BTreeMap<String, String>), ApiError> {
    let rows = remittances::payments_of(db, remittance_id, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    note_payments(req, AuditAction::Read, "claim_payment", rows.iter().map(|r| r.id.to_string()), &rows);
    let mut claims: Vec<ClaimPaymentDetail> = rows.iter().map(ClaimPaymentDetail::from_row).collect();
    let reasons: Vec<String> = claims
        .iter()
        .flat_map(|c| c.detail.adjustments.iter().chain(c.detail.lines.iter().flat_map(|l| l.adjustments.iter())))
        .map(|a| a.reason_code.clone())
        .collect();
    let remarks: Vec<String> = claims
        .iter()
        .flat_map(|c| c.detail.remark_codes.iter().chain(c.detail.lines.iter().flat_map(|l| l.remark_codes.iter())))
        .cloned()
        .collect();
    let reason_text = code_catalog::describe(db, CodeList::Carc, reasons).await?;
    let remark_descriptions = code_catalog::describe(db, CodeList::Rarc, remarks).await?;
    for claim in &mut claims {
        let detail = &mut claim.detail;
        for a in detail.adjustments.iter_mut().chain(detail.lines.iter_mut().flat_map(|l| l.adjustments.iter_mut())) {
            a.reason_description = reason_text.get(&a.reason_code).cloned();
        }
    }
    Ok((claims, next_cursor, remark_descriptions))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemittanceClaimsQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page (or `claims_next_cursor` of the remittance).
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The claim payments of a remittance, in file order, page by page.
#[utoipa::path(
    tag = "remittances",
    params(("id" = Uuid, Path, description = "The remittance's id"), RemittanceClaimsQuery),
    responses(
        (status = 200, body = RemittanceClaimList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/remittances/{id}/claims")]
pub async fn list_remittance_claims(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<RemittanceClaimsQuery>,
) -> Result<web::Json<RemittanceClaimList>, ApiError> {
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let db = &state.db.read;
    let row = find_remittance(db, &id).await?;
    let (items, next_cursor, remark_descriptions) = claim_page(db, &req, row.id, page).await?;
    Ok(web::Json(RemittanceClaimList { items, next_cursor, remark_descriptions }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemittanceListQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// List remittances, newest first.
#[utoipa::path(
    tag = "remittances",
    params(RemittanceListQuery),
    responses(
        (status = 200, body = RemittanceList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/remittances")]
pub async fn list_remittances(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    query: web::Query<RemittanceListQuery>,
) -> Result<web::Json<RemittanceList>, ApiError> {
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let rows = remittances::list(&state.db.read, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(web::Json(RemittanceList { items: rows.iter().map(RemittanceSummary::from_row).collect(), next_cursor }))
}
