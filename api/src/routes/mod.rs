//! HTTP routes, one module per resource.

pub mod acknowledgments;
pub mod api_keys;
pub mod audit_events;
pub mod claim_files;
pub mod claims;
pub mod contacts;
pub mod denials;
pub mod followups;
pub mod health;
pub mod jobs;
pub mod patients;
pub mod payers;
pub mod remittances;

use actix_web::dev::ResourceDef;
use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa_actix_web::scope;

use crate::error::ApiError;
use utoipa_actix_web::service_config::ServiceConfig;

/// Refuses a body that is not sent as an X12 file (`what`: "an X12 837 file").
pub(crate) fn require_x12(req: &HttpRequest, what: &str) -> Result<(), ApiError> {
    let (content_type, essence) = crate::json::media_type(req);
    match essence.as_str() {
        "application/edi-x12" | "application/edi_x12" | "application/x12" | "text/plain" => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "send {what} as application/edi-x12 (or text/plain) (got {:?})",
            if content_type.is_empty() { "no Content-Type" } else { content_type }
        ))),
    }
}

/// Service routes, present on every role (orchestrators probe workers too).
pub fn service_routes(cfg: &mut ServiceConfig) {
    cfg.service(health::health).service(health::ready).service(health::metrics);
}

/// The `/v1` API.
pub fn api_routes(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/v1")
            .service(claims::scrub_claim)
            .service(claims::create_claim)
            .service(claims::list_claims)
            .service(claims::get_claim)
            .service(claims::get_claim_837)
            .service(claims::correct_claim)
            .service(claim_files::create_claim_file)
            .service(claim_files::list_claim_files)
            .service(claim_files::get_claim_file)
            .service(claim_files::get_claim_file_999)
            .service(claim_files::get_claim_file_837)
            .service(claim_files::export_claims)
            .service(acknowledgments::create_acknowledgment)
            .service(acknowledgments::list_acknowledgments)
            .service(acknowledgments::get_acknowledgment)
            .service(acknowledgments::list_acknowledgment_claims)
            .service(remittances::create_remittance)
            .service(remittances::list_remittances)
            .service(remittances::get_remittance)
            .service(remittances::list_remittance_claims)
            .service(denials::list_denials)
            .service(denials::get_denial)
            .service(denials::act_on_denial)
            .service(denials::analytics::denial_analytics)
            .service(denials::analytics::rejection_analytics)
            .service(followups::list_follow_ups)
            .service(followups::get_follow_up)
            .service(followups::get_follow_up_276)
            .service(followups::complete_follow_up)
            .service(followups::snooze_follow_up)
            .service(followups::reassign_follow_up)
            .service(payers::get_payer_rules)
            .service(payers::put_payer_rules)
            .service(contacts::create_contact)
            .service(contacts::list_contacts)
            .service(contacts::get_contact)
            .service(contacts::update_contact)
            .service(contacts::delete_contact)
            .service(contacts::rotate_secret)
            .service(contacts::deliveries::test_contact)
            .service(contacts::deliveries::list_deliveries)
            .service(contacts::deliveries::get_delivery)
            .service(contacts::deliveries::retry_delivery)
            .service(patients::claims::list_patient_claims)
            .service(patients::claims::get_patient_claim)
            .service(patients::claims::get_patient_balance)
            .service(patients::claims::get_patient_denial)
            .service(patients::contacts::create_patient_contact)
            .service(patients::contacts::list_patient_contacts)
            .service(patients::contacts::get_patient_contact)
            .service(patients::contacts::update_patient_contact)
            .service(patients::contacts::delete_patient_contact)
            .service(patients::contacts::rotate_patient_contact_secret)
            .service(patients::contacts::test_patient_contact)
            .service(patients::contacts::list_patient_contact_deliveries)
            .service(patients::sessions::create_patient_session)
            .service(patients::sessions::end_patient_session)
            .service(audit_events::list_audit_events)
            .service(jobs::list_jobs)
            .service(jobs::retry_job)
            .service(api_keys::create_api_key)
            .service(api_keys::list_api_keys)
            .service(api_keys::revoke_api_key),
    );
}

/// Money read back from a `*_cents` column: always in range, since it was parsed as `Money`
/// on the way in.
pub(crate) fn stored_money(cents: i64) -> overturn_domain::Money {
    overturn_domain::Money::from_cents(cents).unwrap_or_default()
}

/// The documented routes and their methods, to tell "no such route" (404) from "not with
/// that method" (405 with `Allow`), which actix's per-method handlers do not.
pub struct KnownRoutes(Vec<(ResourceDef, Vec<Method>)>);

impl KnownRoutes {
    pub fn from_document(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (&item.get, Method::GET),
                    (&item.post, Method::POST),
                    (&item.put, Method::PUT),
                    (&item.patch, Method::PATCH),
                    (&item.delete, Method::DELETE),
                ]
                .into_iter()
                .filter(|(op, _)| op.is_some())
                .map(|(_, m)| m)
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self(routes)
    }

    fn allowed(&self, path: &str) -> Option<&[Method]> {
        self.0.iter().find(|(def, _)| def.is_match(path)).map(|(_, methods)| methods.as_slice())
    }
}

/// Whatever no route took.
pub async fn fallback(req: HttpRequest, known: web::Data<KnownRoutes>) -> Result<HttpResponse, ApiError> {
    not_routed(&req, &known)
}

/// A 405 with `Allow` when the path is a documented route's with other methods, else a 404.
fn not_routed(req: &HttpRequest, known: &KnownRoutes) -> Result<HttpResponse, ApiError> {
    match known.allowed(req.path()) {
        Some(methods) if !methods.is_empty() && !methods.contains(req.method()) => {
            let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
            let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed(format!(
                "{} is not allowed here; use {allow}",
                req.method()
            )));
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            Ok(response)
        }
        _ => Err(ApiError::NotFound("no such route".into())),
    }
}

/// For a handler whose path parameter also matched a fixed route of another method
/// (`GET /v1/claim-files/export` reaching `GET /v1/claim-files/{id}`): what the fixed route
/// answers to this method.
pub(crate) fn fixed_route_answer(req: &HttpRequest) -> Result<HttpResponse, ApiError> {
    match req.app_data::<web::Data<KnownRoutes>>() {
        Some(known) => not_routed(req, known),
        None => Err(ApiError::NotFound("no such route".into())),
    }
}
