//! One patient's webhook contacts. Every caller acting for the patient sees them all; a
//! portal key changes only those it made (those of the billing team are read-only to it),
//! and a patient session only reads.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use overturn_domain::Role;
use overturn_domain::audit::AuditAction;
use overturn_service::contacts::ContactScope;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::audit;
use crate::auth::{ForPatient, PatientAccess, ReadPatient, WritePatient};
use crate::error::{ApiError, Problem};
use crate::json::parse_body;
use crate::routes::contacts::deliveries::{self, DeliveryList, DeliveryListQuery};
use crate::routes::contacts::{
    self, Contact, ContactList, ContactWithSecret, CreateContactRequest, UpdateContactRequest,
};
use crate::state::AppState;
#[allow(unused_imports)]
use uuid::Uuid;

/// The contacts this caller reaches for the patient of the path.
fn scope<A: PatientAccess>(caller: &ForPatient<A>) -> ContactScope {
    ContactScope::Patient {
        member_id: caller.member_id.clone(),
        changed_by: (caller.role == Role::Portal).then_some(caller.key_id),
    }
}

/// An event a patient's contact can subscribe to.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // the document's enumeration; requests carry the names as strings
pub enum PatientEventName {
    #[serde(rename = "patient.balance_due")]
    BalanceDue,
    #[serde(rename = "patient.action_required")]
    ActionRequired,
    #[serde(rename = "followup.due")]
    FollowupDue,
}

/// A new contact for the patient of the path: its kind is `patient` and its reference the
/// member id, so neither is sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePatientContactRequest {
    #[schema(example = "Patient portal")]
    pub name: String,
    /// http(s); internal addresses are refused (422) unless the deployment allows them.
    #[schema(example = "https://portal.example.com/hooks/overturn")]
    pub webhook_url: String,
    /// Among `patient.balance_due`, `patient.action_required` and `followup.due`; leave out
    /// for all three.
    #[schema(value_type = Option<Vec<PatientEventName>>)]
    pub events: Option<Vec<String>>,
    /// Default true.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientContactListQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Create a contact for the patient. The answer holds its signing secret, shown this once.
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe", max_length = 255, pattern = "^[!-~]+$")),
    request_body = CreatePatientContactRequest,
    responses(
        (status = 201, body = ContactWithSecret),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A patient session", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The URL points to an internal address, or the Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/patients/{member_id}/contacts")]
pub async fn create_patient_contact(
    state: web::Data<AppState>,
    caller: ForPatient<WritePatient>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CreatePatientContactRequest = parse_body(&req, &body)?;
    let request = CreateContactRequest {
        kind: "patient".into(),
        reference: caller.member_id.clone(),
        name: request.name,
        webhook_url: request.webhook_url,
        events: request.events,
        enabled: request.enabled,
    };
    contacts::create(&state, &req, &body, caller.key_id, request).await
}

/// The patient's contacts, newest first.
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path), PatientContactListQuery),
    responses(
        (status = 200, body = ContactList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("patient_session" = []))
)]
#[get("/patients/{member_id}/contacts")]
pub async fn list_patient_contacts(
    state: web::Data<AppState>,
    caller: ForPatient<ReadPatient>,
    req: HttpRequest,
    query: web::Query<PatientContactListQuery>,
) -> Result<web::Json<ContactList>, ApiError> {
    let list =
        contacts::list(&state, &scope(&caller), None, None, query.limit.as_deref(), query.cursor.as_deref()).await?;
    audit::note(
        &req,
        AuditAction::Read,
        "contact",
        list.items.iter().map(|c| c.id.to_string()),
        [caller.member_id.clone()],
    );
    Ok(list)
}

/// One of the patient's contacts.
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path), ("id" = Uuid, Path)),
    responses(
        (status = 200, body = Contact),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("patient_session" = []))
)]
#[get("/patients/{member_id}/contacts/{id}")]
pub async fn get_patient_contact(
    state: web::Data<AppState>,
    caller: ForPatient<ReadPatient>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Contact>, ApiError> {
    audit::note(&req, AuditAction::Read, "contact", [path.1.clone()], [caller.member_id.clone()]);
    Ok(web::Json(contacts::find(&state.db.read, &scope(&caller), &path.1).await?.into()))
}

/// Change one of the patient's contacts (a portal key: one it made).
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path), ("id" = Uuid, Path)),
    request_body = UpdateContactRequest,
    responses(
        (status = 200, body = Contact),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Made by another key, or a patient session", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The URL points to an internal address", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[patch("/patients/{member_id}/contacts/{id}")]
pub async fn update_patient_contact(
    state: web::Data<AppState>,
    caller: ForPatient<WritePatient>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<web::Json<Contact>, ApiError> {
    contacts::update(&state, &req, &body, &scope(&caller), &path.1, &caller.name).await
}

/// Delete one of the patient's contacts (a portal key: one it made).
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path), ("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Made by another key, or a patient session", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[delete("/patients/{member_id}/contacts/{id}")]
pub async fn delete_patient_contact(
    state: web::Data<AppState>,
    caller: ForPatient<WritePatient>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    contacts::delete(&state, &req, &scope(&caller), &path.1).await
}

/// Rotate the signing secret of one of the patient's contacts (a portal key: one it made).
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path), ("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe", max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 200, body = ContactWithSecret),
        (status = 403, description = "Made by another key, or a patient session", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/patients/{member_id}/contacts/{id}/rotate-secret")]
pub async fn rotate_patient_contact_secret(
    state: web::Data<AppState>,
    caller: ForPatient<WritePatient>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    contacts::rotate(&state, &req, &scope(&caller), &path.1, caller.key_id).await
}

/// Send a `ping` to one of the patient's contacts (a portal key: one it made).
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path), ("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe", max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 202, body = crate::routes::contacts::deliveries::Delivery),
        (status = 403, description = "Made by another key, or a patient session", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact is disabled", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/patients/{member_id}/contacts/{id}/test")]
pub async fn test_patient_contact(
    state: web::Data<AppState>,
    caller: ForPatient<WritePatient>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    deliveries::test(&state, &req, &scope(&caller), &path.1, caller.key_id).await
}

/// The deliveries to one of the patient's contacts, newest first, each with its attempts.
#[utoipa::path(
    tag = "patients",
    params(("member_id" = String, Path), ("id" = Uuid, Path), DeliveryListQuery),
    responses(
        (status = 200, body = DeliveryList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("patient_session" = []))
)]
#[get("/patients/{member_id}/contacts/{id}/deliveries")]
pub async fn list_patient_contact_deliveries(
    state: web::Data<AppState>,
    caller: ForPatient<ReadPatient>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<DeliveryListQuery>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    audit::note(&req, AuditAction::Read, "contact", [path.1.clone()], [caller.member_id.clone()]);
    deliveries::list(&state, &scope(&caller), &path.1, &query).await
}
