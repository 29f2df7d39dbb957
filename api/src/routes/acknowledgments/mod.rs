//! `/v1/acknowledgments`: what clearinghouses and payers say of claims before (or instead of)
//! an 835: 999 implementation acknowledgments, 277CA claim acknowledgments, 277 status answers.

mod output;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use overturn_domain::FieldError;
use overturn_domain::audit::AuditAction;
use overturn_domain::code_sets::CodeList;
use overturn_domain::x12::ack::{self, AckKind};
use overturn_entity::{acknowledgment, acknowledgment_claim};
use overturn_service::acknowledgments::{self, Incoming, StatusCodeRecord};
use overturn_service::code_catalog;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub use output::{
    Acknowledgment, AcknowledgmentClaim, AcknowledgmentClaimList, AcknowledgmentList, AcknowledgmentSummary,
    StatusCodeOut,
};

use crate::auth::{Allowed, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::pagination::{MAX_LIMIT, Page};
use crate::state::AppState;

/// The words for status codes: imported descriptions first, else built in.
struct Words {
    categories: BTreeMap<String, String>,
    statuses: BTreeMap<String, String>,
}

impl Words {
    fn of(&self, list: CodeList, code: &str) -> Option<String> {
        match list {
            CodeList::StatusCategory => self.categories.get(code).cloned(),
            _ => self.statuses.get(code).cloned(),
        }
    }
}

/// The words for every status code of these rows.
async fn describer(
    db: &impl sea_orm::ConnectionTrait,
    rows: &[acknowledgment_claim::Model],
) -> Result<Words, ApiError> {
    let codes: Vec<StatusCodeRecord> = rows
        .iter()
        .flat_map(|r| serde_json::from_str::<Vec<StatusCodeRecord>>(&r.status_codes).unwrap_or_default())
        .collect();
    Ok(Words {
        categories: code_catalog::describe(db, CodeList::StatusCategory, codes.iter().map(|c| c.category.clone()))
            .await?,
        statuses: code_catalog::describe(db, CodeList::Status, codes.iter().map(|c| c.code.clone())).await?,
    })
}

/// The PHI access of a request on acknowledgment rows: the members they name.
fn note_rows(
    req: &HttpRequest,
    action: AuditAction,
    ids: impl IntoIterator<Item = String>,
    rows: &[acknowledgment_claim::Model],
) {
    let members = rows.iter().filter_map(|r| r.member_id.clone()).filter(|m| !m.is_empty());
    crate::audit::note(req, action, "acknowledgment", ids, members);
}

/// Receive an acknowledgment: a 999, 277CA or 277.
///
/// - A 999 (005010X231A1) is matched to the claim files it answers by AK1 (the file's GS06)
///   and AK2 (its ST02). A set it rejects (IK5 `R`, or a group refused whole with AK9 `R`)
///   rejects every claim created from that set.
/// - A 277CA (005010X214) rejects or accepts claims one by one; a 277 (005010X212) answers
///   status inquiries. Each claim status loop is matched by the patient control number
///   (TRN02 in a 277CA, REF*EJ in a 277), then the payer's claim number (REF*1K), then member
///   id with date of service and charge; when more than one claim fits, it is left unmatched
///   rather than misapplied. One that matches no claim waits and is applied when a claim of
///   its number is created.
///
/// A rejected claim becomes `rejected` and gets a work item in the worklist (a denial of
/// category `rejection`, its team from the status codes, `correct_and_resubmit`, due by the
/// timely-filing limit, its explanation quoting the codes in words), and `claim.rejected` goes
/// to the payer's contacts that ask for it. An acceptance into adjudication (A1, A2, A5) times
/// the claim's status check from then. A 277 sets the claim's `payer_status`; a final answer
/// completes its status check and a pending one times it again. The same file received again
/// changes nothing a second time. A malformed file is refused whole with the segment at fault.
#[utoipa::path(
    tag = "acknowledgments",
    request_body(
        description = "An X12 999, 277CA or 277 file",
        content(
            (String = "application/edi-x12", example = "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*CLINIC9        *261121*0800*^*00501*000000731*0*P*:~GS*HN*CLEARHOUSE*CLINIC9*20261121*0800*731*X*005010X214~ST*277*0001*005010X214~…~SE*…~GE*1*731~IEA*1*000000731~"),
            (String = "text/plain"),
        )
    ),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the same key and body return the first response", pattern = "^[!-~]{1,255}$")),
    responses(
        (status = 202, description = "Stored and applied: what it says about each claim", body = Acknowledgment),
        (status = 400, description = "A malformed file (the problem names the segment and element)", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/acknowledgments")]
pub async fn create_acknowledgment(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    crate::routes::require_x12(&req, "a 999, 277CA or 277 file")?;
    let body =
        crate::routes::remittances::read_body(payload, state.settings.max_remittance_bytes, "acknowledgment").await?;
    let key = idempotency::key_from(&req)?.map(|key| idempotency::IdempotencyRecord {
        api_key_id: caller.key_id,
        key,
        request_hash: idempotency::request_hash(&req, &body),
    });
    let file = match ack::read_acknowledgment(&body) {
        Ok(file) => file,
        Err(err) => {
            let err = ApiError::Edi(err);
            return Err(idempotency::check_unusable(&state.db.read, key.as_ref()).await?.unwrap_or(err));
        }
    };
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut deliveries = 0;
    let response = idempotency::run(&state.db.write, &req, caller.key_id, &body, async |txn| {
        let incoming = Incoming { file: &file, body: &body, content_type: &content_type, api_key_id: caller.key_id };
        let stored = acknowledgments::store(txn, incoming).await?;
        deliveries = stored.deliveries;
        note_rows(&req, AuditAction::Create, [stored.acknowledgment.id.to_string()], &stored.claims);
        let sets = serde_json::from_str(&stored.acknowledgment.sets).unwrap_or_default();
        let (claims, claims_next_cursor) = first_page(&stored.claims);
        let describe = describer(txn, claims).await?;
        Ok((
            StatusCode::ACCEPTED,
            Acknowledgment {
                summary: AcknowledgmentSummary::from_row(&stored.acknowledgment),
                transaction_sets: sets,
                claims: claims.iter().map(|r| AcknowledgmentClaim::from_row(r, &|l, c| describe.of(l, c))).collect(),
                claims_next_cursor,
            },
        ))
    })
    .await;
    if deliveries > 0 {
        state.relay_wake.notify_one();
    }
    response
}

/// The first `MAX_LIMIT` rows of a list of claims, and the cursor to the rest.
fn first_page(rows: &[acknowledgment_claim::Model]) -> (&[acknowledgment_claim::Model], Option<String>) {
    let shown = &rows[..rows.len().min(MAX_LIMIT as usize)];
    let next = (rows.len() > shown.len()).then(|| crate::pagination::encode_cursor(shown[shown.len() - 1].id));
    (shown, next)
}

async fn find_ack(state: &AppState, id: &str) -> Result<acknowledgment::Model, ApiError> {
    let not_found = || ApiError::NotFound(format!("no acknowledgment with id {id:?}"));
    let ack_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    acknowledgments::find(&state.db.read, ack_id).await?.ok_or_else(not_found)
}

/// Get an acknowledgment: its sets' verdicts (999) and the first 500 claims it speaks of.
#[utoipa::path(
    tag = "acknowledgments",
    params(("id" = Uuid, Path, description = "The acknowledgment's id")),
    responses(
        (status = 200, body = Acknowledgment),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/acknowledgments/{id}")]
pub async fn get_acknowledgment(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<Acknowledgment>, ApiError> {
    let row = find_ack(&state, &id).await?;
    let page = Page { limit: MAX_LIMIT, after: None };
    let rows = acknowledgments::claims_of(&state.db.read, row.id, None, page.fetch_limit()).await?;
    let (rows, claims_next_cursor) = page.finish(rows, |r| r.id);
    note_rows(&req, AuditAction::Read, [row.id.to_string()], &rows);
    let describe = describer(&state.db.read, &rows).await?;
    Ok(web::Json(Acknowledgment {
        summary: AcknowledgmentSummary::from_row(&row),
        transaction_sets: serde_json::from_str(&row.sets).unwrap_or_default(),
        claims: rows.iter().map(|r| AcknowledgmentClaim::from_row(r, &|l, c| describe.of(l, c))).collect(),
        claims_next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 500, default 50.
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// An acknowledgment's claims, in file order, a page at a time.
#[utoipa::path(
    tag = "acknowledgments",
    params(("id" = Uuid, Path, description = "The acknowledgment's id"), PageQuery),
    responses(
        (status = 200, body = AcknowledgmentClaimList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/acknowledgments/{id}/claims")]
pub async fn list_acknowledgment_claims(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<AcknowledgmentClaimList>, ApiError> {
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let row = find_ack(&state, &id).await?;
    let rows = acknowledgments::claims_of(&state.db.read, row.id, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    note_rows(&req, AuditAction::Read, rows.iter().map(|r| r.id.to_string()), &rows);
    let describe = describer(&state.db.read, &rows).await?;
    Ok(web::Json(AcknowledgmentClaimList {
        items: rows.iter().map(|r| AcknowledgmentClaim::from_row(r, &|l, c| describe.of(l, c))).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AcknowledgmentListQuery {
    /// `999`, `277CA` or `277`.
    pub kind: Option<String>,
    /// 1 to 500, default 50.
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// List acknowledgments, newest first.
#[utoipa::path(
    tag = "acknowledgments",
    params(AcknowledgmentListQuery),
    responses(
        (status = 200, body = AcknowledgmentList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/acknowledgments")]
pub async fn list_acknowledgments(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    query: web::Query<AcknowledgmentListQuery>,
) -> Result<web::Json<AcknowledgmentList>, ApiError> {
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(
            AckKind::parse(k)
                .ok_or_else(|| ApiError::validation(vec![FieldError::new("kind", "must be 999, 277CA or 277")]))?,
        ),
    };
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let rows = acknowledgments::list(&state.db.read, kind.map(|k| k.as_str()), page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(web::Json(AcknowledgmentList { items: rows.iter().map(AcknowledgmentSummary::from_row).collect(), next_cursor }))
}
