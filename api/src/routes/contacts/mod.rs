//! `/v1/contacts`: the webhook receivers standing for patients and payers, their signing
//! secrets, and the log of every delivery to them (`deliveries`).

pub mod deliveries;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use overturn_domain::webhook_signature::SigningSecret;
use overturn_domain::webhooks::{ContactKind, EventType};
use overturn_domain::{FieldError, MemberId, PayerId};
use overturn_entity::contact;
use overturn_service::contacts::{self, ContactChange, ContactScope, NewContact};
use overturn_service::webhook_client::{UrlError, check_url};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit;
use crate::auth::{Allowed, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::json::{Errors, parse_body};
use crate::pagination::Page;
use crate::state::AppState;
use overturn_domain::audit::AuditAction;

/// A contact, without its secret (shown only when created or rotated).
#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    pub id: Uuid,
    /// `patient` or `payer`.
    #[schema(example = "patient")]
    pub kind: String,
    /// The patient's member id, or the payer id.
    #[schema(example = "MBR-1001")]
    pub reference: String,
    #[schema(example = "Patient portal")]
    pub name: String,
    #[schema(example = "https://portal.example.com/hooks/overturn")]
    pub webhook_url: String,
    /// The events it receives; null for its kind's defaults (patient: `patient.balance_due`,
    /// `patient.action_required`, `followup.due`; payer: `followup.due`).
    pub events: Option<Vec<String>>,
    pub enabled: bool,
    /// Why it was disabled (by a person, a 410 Gone, or 5 days of failures).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs deliveries.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed; null while deliveries succeed.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<contact::Model> for Contact {
    fn from(row: contact::Model) -> Self {
        let events = overturn_service::events::parse_filter(row.events.as_deref())
            .map(|list| list.into_iter().map(|e| e.as_str().to_owned()).collect());
        Self {
            id: row.id,
            kind: row.kind,
            reference: row.reference,
            name: row.name,
            webhook_url: row.webhook_url,
            events,
            enabled: row.enabled,
            disabled_reason: row.disabled_reason,
            disabled_at: row.disabled_at,
            previous_secret_expires_at: row.previous_secret_expires_at.filter(|t| *t > Utc::now()),
            failing_since: row.failing_since,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A contact with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactWithSecret {
    #[serde(flatten)]
    pub contact: Contact,
    /// `whsec_` + base64: configure it in the receiver to verify signatures (Standard
    /// Webhooks). Not shown again; a replay of the request answers null.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub signing_secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    pub items: Vec<Contact>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContactRequest {
    /// `patient` or `payer`.
    #[schema(example = "patient", pattern = "^(patient|payer)$")]
    pub kind: String,
    /// The patient's member id (kind `patient`) or the payer id (kind `payer`).
    #[schema(example = "MBR-1001")]
    pub reference: String,
    #[schema(example = "Patient portal")]
    pub name: String,
    /// http(s); internal addresses are refused (422) unless the deployment allows them.
    #[schema(example = "https://portal.example.com/hooks/overturn")]
    pub webhook_url: String,
    /// Events to receive, among those its kind can get; leave out for the defaults.
    #[schema(value_type = Option<Vec<EventName>>)]
    pub events: Option<Vec<String>>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// An event a contact can subscribe to (`ping` is always delivered and is not subscribed to).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // the document's enumeration; requests carry the names as strings
pub enum EventName {
    #[serde(rename = "patient.balance_due")]
    BalanceDue,
    #[serde(rename = "patient.action_required")]
    ActionRequired,
    #[serde(rename = "followup.due")]
    FollowupDue,
    #[serde(rename = "denial.created")]
    DenialCreated,
}

/// `PATCH`: fields left out stay as they are; `events: null` restores the defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContactRequest {
    pub name: Option<String>,
    pub webhook_url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<EventName>>)]
    pub events: Option<Option<Vec<String>>>,
    /// `true` re-enables a disabled contact (its failure history starts afresh); `false`
    /// disables it and cancels its pending deliveries.
    pub enabled: Option<bool>,
}

/// Tells `"events": null` (restore the defaults) from a field left out.
fn present<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Option::<Vec<String>>::deserialize(de).map(Some)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactListQuery {
    /// `patient` or `payer`.
    #[param(pattern = "^(patient|payer)?$")]
    pub kind: Option<String>,
    /// A member id or payer id.
    pub reference: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

fn parse_reference(kind: ContactKind, text: &str) -> Result<String, String> {
    match kind {
        ContactKind::Patient => MemberId::parse(text).map(|m| m.as_str().to_owned()).map_err(|e| e.to_string()),
        ContactKind::Payer => PayerId::parse(text).map(|p| p.as_str().to_owned()).map_err(|e| e.to_string()),
    }
}

fn parse_name(text: &str) -> Result<String, &'static str> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err("must be 1 to 200 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(name.to_owned())
}

/// Checks a webhook URL; an internal address is a 422 of its own, other faults join `errors`.
fn parse_url(state: &AppState, text: &str, errors: &mut Errors) -> Result<Option<String>, ApiError> {
    match check_url(text, state.settings.webhook_allow_private) {
        Ok(url) => Ok(Some(url.to_string())),
        Err(e @ UrlError::Internal(_)) => Err(ApiError::Unprocessable {
            detail: format!("webhook_url {e}"),
            errors: vec![FieldError::new("webhook_url", e.to_string())],
        }),
        Err(e) => {
            errors.0.push(FieldError::new("webhook_url", e.to_string()));
            Ok(None)
        }
    }
}

/// The stored form of an `events` filter: names in a fixed order, no repeats.
fn parse_events(kind: ContactKind, names: &[String], errors: &mut Errors) -> String {
    let mut chosen = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match EventType::parse(name) {
            Some(EventType::Ping) => {
                errors.0.push(FieldError::new(format!("events[{i}]"), "ping is always delivered; leave it out"))
            }
            Some(event) if event.reaches(kind) => chosen.push(event),
            Some(_) => errors.0.push(FieldError::new(
                format!("events[{i}]"),
                format!("{name} is not sent to {} contacts", kind.as_str()),
            )),
            None => errors.0.push(FieldError::new(format!("events[{i}]"), format!("{name:?} is not an event"))),
        }
    }
    let ordered: Vec<&str> = EventType::ALL.iter().filter(|e| chosen.contains(e)).map(|e| e.as_str()).collect();
    serde_json::to_string(&ordered).unwrap_or_else(|_| "[]".into())
}

fn contact_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::NotFound(format!("no contact {text:?}")))
}

/// A contact the scope lets the caller see; deleted ones and those out of scope are 404.
pub(crate) async fn find(
    db: &impl ConnectionTrait,
    scope: &ContactScope,
    id: &str,
) -> Result<contact::Model, ApiError> {
    let uuid = contact_id(id)?;
    contacts::find(db, scope, uuid).await?.ok_or_else(|| ApiError::NotFound(format!("no contact {id}")))
}

/// A contact the caller may change: 404 when it may not see it, 403 when it is read-only to
/// it (a portal key and a contact that another key made).
pub(crate) async fn changeable(
    db: &impl ConnectionTrait,
    scope: &ContactScope,
    id: &str,
) -> Result<contact::Model, ApiError> {
    let row = find(db, scope, id).await?;
    if !scope.may_change(&row) {
        return Err(ApiError::Forbidden(
            "this contact was made by another key; a portal key changes only the contacts it made".into(),
        ));
    }
    Ok(row)
}

/// The patient a contact stands for, if it stands for one.
fn patient_of(row: &contact::Model) -> Option<String> {
    (row.kind == ContactKind::Patient.as_str()).then(|| row.reference.clone())
}

/// Notes the PHI access of a request on one contact, by id (before it is looked up: a miss
/// is an attempt worth keeping) and by the patient it stands for, when known.
pub(crate) fn note_contact(req: &HttpRequest, action: AuditAction, scope: &ContactScope, id: &str) {
    let member = match scope {
        ContactScope::Patient { member_id, .. } => Some(member_id.clone()),
        ContactScope::All => None,
    };
    audit::note(req, action, "contact", [id.to_owned()], member);
}

/// Notes the PHI access of a request on a contact found: its id and the patient it stands for.
pub(crate) fn note_row(req: &HttpRequest, action: AuditAction, row: &contact::Model) {
    audit::note(req, action, "contact", [row.id.to_string()], patient_of(row));
}

fn kind_of(row: &contact::Model) -> ContactKind {
    ContactKind::parse(&row.kind).unwrap_or(ContactKind::Patient)
}

/// Create a contact. The answer holds its signing secret, shown this once.
#[utoipa::path(
    tag = "contacts",
    request_body = CreateContactRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe", max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 201, body = ContactWithSecret),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The URL points to an internal address, or the Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/contacts")]
pub async fn create_contact(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CreateContactRequest = parse_body(&req, &body)?;
    create(&state, &req, &body, caller.key_id, request).await
}

/// Checks and stores a new contact for the key `key_id`, idempotently.
pub(crate) async fn create(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    key_id: Uuid,
    request: CreateContactRequest,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Errors(Vec::new());
    let kind = ContactKind::parse(&request.kind);
    if kind.is_none() {
        errors.0.push(FieldError::new("kind", "must be patient or payer"));
    }
    let kind = kind.unwrap_or(ContactKind::Patient);
    let reference = errors.take("reference", parse_reference(kind, &request.reference));
    let name = errors.take("name", parse_name(&request.name));
    let url = parse_url(state, &request.webhook_url, &mut errors)?;
    let events = request.events.as_deref().map(|names| parse_events(kind, names, &mut errors));
    let (Some(reference), Some(name), Some(url), true) = (reference, name, url, errors.0.is_empty()) else {
        return Err(ApiError::validation(errors.0));
    };
    let secret = SigningSecret::generate();
    let sealed = state.secrets_key.seal(secret.expose().as_bytes());
    let redact = |stored: &mut serde_json::Value| stored["signing_secret"] = serde_json::Value::Null;
    let new = NewContact {
        kind,
        reference,
        name,
        webhook_url: url,
        events,
        enabled: request.enabled.unwrap_or(true),
        sealed_secret: sealed,
        created_by_key_id: key_id,
    };
    idempotency::run_redacted(&state.db.write, req, key_id, body, redact, async |txn| {
        let row = contacts::create(txn, new.clone()).await?;
        note_row(req, AuditAction::Create, &row);
        Ok((StatusCode::CREATED, ContactWithSecret { contact: row.into(), signing_secret: Some(secret.expose()) }))
    })
    .await
}

/// List contacts, newest first (the portal role sees patient contacts only).
#[utoipa::path(
    tag = "contacts",
    params(ContactListQuery),
    responses(
        (status = 200, body = ContactList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/contacts")]
pub async fn list_contacts(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    query: web::Query<ContactListQuery>,
) -> Result<web::Json<ContactList>, ApiError> {
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(text) => match ContactKind::parse(text) {
            Some(kind) => Some(kind),
            None => return Err(ApiError::validation(vec![FieldError::new("kind", "must be patient or payer")])),
        },
    };
    let reference = query.reference.as_deref().filter(|r| !r.is_empty());
    let list =
        list(&state, &ContactScope::All, kind, reference, query.limit.as_deref(), query.cursor.as_deref()).await?;
    audit::note(
        &req,
        AuditAction::Read,
        "contact",
        list.items.iter().map(|c| c.id.to_string()),
        list.items.iter().filter(|c| c.kind == ContactKind::Patient.as_str()).map(|c| c.reference.clone()),
    );
    Ok(list)
}

/// A page of the contacts in `scope`.
pub(crate) async fn list(
    state: &AppState,
    scope: &ContactScope,
    kind: Option<ContactKind>,
    reference: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<web::Json<ContactList>, ApiError> {
    let page = Page::parse(limit, cursor)?;
    let rows = contacts::list(&state.db.read, scope, kind, reference, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(web::Json(ContactList { items: rows.into_iter().map(Contact::from).collect(), next_cursor }))
}

/// One contact.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Contact),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/contacts/{id}")]
pub async fn get_contact(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<Contact>, ApiError> {
    note_contact(&req, AuditAction::Read, &ContactScope::All, &id);
    let row = find(&state.db.read, &ContactScope::All, &id).await?;
    note_row(&req, AuditAction::Read, &row);
    Ok(web::Json(row.into()))
}

/// Change a contact's name, URL, events, or enable or disable it.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path)),
    request_body = UpdateContactRequest,
    responses(
        (status = 200, body = Contact),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The URL points to an internal address", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[patch("/contacts/{id}")]
pub async fn update_contact(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<web::Json<Contact>, ApiError> {
    update(&state, &req, &body, &ContactScope::All, &id, &caller.name).await
}

/// Applies a `PATCH` body to a contact the scope lets the caller change.
pub(crate) async fn update(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
    scope: &ContactScope,
    id: &str,
    by: &str,
) -> Result<web::Json<Contact>, ApiError> {
    let request: UpdateContactRequest = parse_body(req, body)?;
    note_contact(req, AuditAction::Update, scope, id);
    let row = changeable(&state.db.read, scope, id).await?;
    note_row(req, AuditAction::Update, &row);
    let kind = kind_of(&row);
    let mut errors = Errors(Vec::new());
    let name = request.name.as_deref().and_then(|n| errors.take("name", parse_name(n)));
    let webhook_url = match request.webhook_url.as_deref() {
        Some(text) => parse_url(state, text, &mut errors)?,
        None => None,
    };
    let events = request.events.as_ref().map(|e| e.as_deref().map(|names| parse_events(kind, names, &mut errors)));
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    let change = ContactChange { name, webhook_url, events, enabled: request.enabled };
    let event = audit::for_transaction(req, 200);
    let Some(row) = contacts::update(&state.db.write, scope, row.id, change, by, event.as_ref()).await? else {
        audit::not_written(req);
        return Err(ApiError::NotFound(format!("no contact {id}")));
    };
    Ok(web::Json(row.into()))
}

/// Delete a contact: it gets nothing more, and its pending deliveries are cancelled.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[delete("/contacts/{id}")]
pub async fn delete_contact(
    state: web::Data<AppState>,
    _caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    delete(&state, &req, &ContactScope::All, &id).await
}

pub(crate) async fn delete(
    state: &AppState,
    req: &HttpRequest,
    scope: &ContactScope,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    note_contact(req, AuditAction::Delete, scope, id);
    let row = changeable(&state.db.read, scope, id).await?;
    note_row(req, AuditAction::Delete, &row);
    let event = audit::for_transaction(req, 204);
    if !contacts::delete(&state.db.write, scope, row.id, event.as_ref()).await? {
        audit::not_written(req);
        return Err(ApiError::NotFound(format!("no contact {id}")));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a contact's signing secret. The new secret is shown this once; the old one keeps
/// signing beside it (a second `v1,` signature) for 24 hours, so the receiver can switch
/// without losing a delivery.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe", max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 200, body = ContactWithSecret),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/contacts/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    rotate(&state, &req, &ContactScope::All, &id, caller.key_id).await
}

pub(crate) async fn rotate(
    state: &AppState,
    req: &HttpRequest,
    scope: &ContactScope,
    id: &str,
    key_id: Uuid,
) -> Result<HttpResponse, ApiError> {
    note_contact(req, AuditAction::Update, scope, id);
    let row = changeable(&state.db.read, scope, id).await?;
    note_row(req, AuditAction::Update, &row);
    let secret = SigningSecret::generate();
    let sealed = state.secrets_key.seal(secret.expose().as_bytes());
    let redact = |stored: &mut serde_json::Value| stored["signing_secret"] = serde_json::Value::Null;
    idempotency::run_redacted(&state.db.write, req, key_id, &[], redact, async |txn| {
        let uuid = contact_id(id)?;
        let row = contacts::rotate_secret(txn, scope, uuid, sealed.clone())
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("no contact {id}")))?;
        Ok((StatusCode::OK, ContactWithSecret { contact: row.into(), signing_secret: Some(secret.expose()) }))
    })
    .await
}
