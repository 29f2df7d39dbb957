//! The OpenAPI 3.1 document, generated from the handlers and types that serve it.

use actix_web::App;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use overturn_service::events::payloads::{
    ActionRequiredData, BalanceDueData, DenialCreatedData, FollowUpDueData, PatientShare, PingData, WebhookEnvelope,
};

use crate::error::{Problem, ValidationError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Overturn",
        description = "Claim denial management for US medical billing teams: claims, payer responses (X12 835), denials, follow-ups and signed webhooks. Every /v1 route needs `Authorization: Bearer <api key>`; a portal key or a patient session reaches only the patient routes. Errors are RFC 9457 problem documents.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerKey),
    components(schemas(
        Problem,
        ValidationError,
        WebhookEnvelope,
        BalanceDueData,
        PatientShare,
        ActionRequiredData,
        DenialCreatedData,
        FollowUpDueData,
        PingData
    )),
    tags(
        (name = "claims", description = "Claims as submitted to payers"),
        (name = "claim-files", description = "Claims as X12 837 files (837P 005010X222A1, 837I 005010X223A2): each claim created, rejected with the segment and element at fault, or reported as a duplicate; and the 999 implementation acknowledgment (005010X231A1) of each file"),
        (name = "remittances", description = "Payer responses: X12 835 files or their JSON form"),
        (name = "denials", description = "Denials classified from payer responses: the worklist, its actions and analytics"),
        (name = "payers", description = "Payers' deadline rules"),
        (name = "follow-ups", description = "What to chase and when: status checks of unanswered claims, reminders before appeal deadlines (30, 14 and 3 days) and their escalation, resubmissions, patient outreach and timely-filing limits. Days are calendar days in UTC; a follow-up due on a date falls due at 00:00 UTC. One falls due at `due_at` (at once when already due, even after downtime), sends `followup.due` to its target's contacts and waits in the worklist (`status=fired`)."),
        (name = "contacts", description = "Webhook receivers for patients and payers, and every delivery to them. Deliveries follow Standard Webhooks: a POST of `WebhookEnvelope` with `webhook-id` (the same on every attempt), `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of \"id.timestamp.body\">` (two signatures, space-separated, for 24 hours after a secret rotation). The `data` schemas: `BalanceDueData` (patient.balance_due), `ActionRequiredData` (patient.action_required), `DenialCreatedData` (denial.created), `FollowUpDueData` (followup.due), `PingData` (ping)."),
        (name = "patients", description = "One patient at a time: the only routes a `portal` key or a patient session reaches. Claims and denials here are in the patient-facing form (no notes, assignees, actors or priorities). Another patient's resource is 404. A portal key changes only the contacts it made; a patient session (`ops_…`, short-lived, made by `POST /v1/patient-sessions`) only reads, and only its own patient's routes."),
        (name = "audit", description = "The PHI access log (admin only): one event per request that read or changed patient data, hash-chained. `overturn audit verify` recomputes the chain."),
        (name = "jobs", description = "Background jobs that failed on every attempt (admin only)"),
        (name = "api-keys", description = "API keys and roles (admin only)"),
        (name = "service", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An Overturn API key (`ovt_…`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            PATIENT_SESSION,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A patient session token (`ops_…`, from `POST /v1/patient-sessions`): reads its own patient's routes only",
                    ))
                    .build(),
            ),
        );
    }
}

/// The full document, without starting a server.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::service_routes)
        .configure(crate::routes::api_routes)
        .split_for_parts();
    with_conventions(doc)
}

/// The answers and headers every route shares, stated once here rather than on each route:
/// a protected route can answer 401; every POST takes `Idempotency-Key` and can answer 400
/// (a malformed key) and 422 (a key used before with another request). What a route states
/// itself is kept.
pub fn with_conventions(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    match conventions_applied(&doc) {
        Ok(done) => done,
        Err(err) => {
            tracing::error!(error = %err, "the OpenAPI conventions could not be applied");
            doc
        }
    }
}

fn conventions_applied(doc: &utoipa::openapi::OpenApi) -> Result<utoipa::openapi::OpenApi, serde_json::Error> {
    // Only the paths go through JSON: utoipa reads back paths as it wrote them, not every
    // schema it writes.
    let mut value = serde_json::json!({ "paths": serde_json::to_value(&doc.paths)? });
    let problem =
        || serde_json::json!({ "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } });
    let paths = value.get_mut("paths").and_then(|p| p.as_object_mut());
    for item in paths.into_iter().flat_map(|p| p.values_mut()) {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            let Some(operation) = operation.as_object_mut() else { continue };
            let protected = operation.get("security").and_then(|s| s.as_array()).is_some_and(|s| !s.is_empty());
            let post = method == "post";
            // Only a patient route's reads are open to every caller that reaches them (a
            // patient session included); every other protected route refuses some.
            let open_to_sessions = operation
                .get("security")
                .and_then(|s| s.as_array())
                .is_some_and(|s| s.iter().any(|r| r.get(PATIENT_SESSION).is_some()));
            let mut answers: Vec<(&str, Option<&str>)> = Vec::new();
            if protected {
                answers.push(("401", None));
            }
            if protected && !open_to_sessions {
                answers.push(("403", Some("The caller's role, or a patient session, may not do this")));
            }
            if post {
                answers.push(("400", Some("A malformed Idempotency-Key")));
                answers.push(("422", Some("The Idempotency-Key was used with another request")));
                let parameters = operation.entry("parameters").or_insert_with(|| serde_json::json!([]));
                if let Some(parameters) = parameters.as_array_mut()
                    && !parameters.iter().any(|p| p["name"] == IDEMPOTENCY_KEY && p["in"] == "header")
                {
                    parameters.push(serde_json::json!({
                        "name": IDEMPOTENCY_KEY,
                        "in": "header",
                        "description": "Repeat a POST safely: the same key and body return the first response",
                        "required": false,
                        "schema": { "type": ["string", "null"], "pattern": "^[!-~]{1,255}$" },
                    }));
                }
            }
            let responses = operation.entry("responses").or_insert_with(|| serde_json::json!({}));
            let Some(responses) = responses.as_object_mut() else { continue };
            // utoipa leaves an empty description out when it writes a response, and wants one
            // when it reads it back.
            for answer in responses.values_mut().filter_map(|a| a.as_object_mut()) {
                if !answer.contains_key("$ref") {
                    answer.entry("description").or_insert_with(|| serde_json::json!(""));
                }
            }
            for (status, description) in answers {
                responses.entry(status).or_insert_with(|| {
                    let mut answer = serde_json::json!({ "description": "", "content": problem() });
                    if let Some(description) = description {
                        answer["description"] = serde_json::json!(description);
                    }
                    answer
                });
            }
        }
    }
    let paths = serde_path_to_error::deserialize(value["paths"].take()).map_err(|e| {
        let path = e.path().to_string();
        serde_json::Error::io(std::io::Error::other(format!("paths.{path}: {}", e.into_inner())))
    })?;
    let mut done = doc.clone();
    done.paths = paths;
    Ok(done)
}

const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
const PATIENT_SESSION: &str = "patient_session";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protected_route_answers_401_and_every_post_takes_an_idempotency_key() {
        let doc = serde_json::to_value(conventions_applied(&document()).expect("the conventions apply")).unwrap();
        let mut posts = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                let protected = op["security"].as_array().is_some_and(|s| !s.is_empty());
                let responses = op["responses"].as_object().expect("responses");
                assert!(!protected || responses.contains_key("401"), "{method} {path} has no 401");
                if method == "post" {
                    posts += 1;
                    let params = op["parameters"].as_array().expect("a POST has parameters");
                    assert!(params.iter().any(|p| p["name"] == IDEMPOTENCY_KEY), "{method} {path} lacks the key");
                    assert!(responses.contains_key("400") && responses.contains_key("422"), "{method} {path}");
                }
            }
        }
        assert!(posts >= 10, "{posts} POST routes");
    }
}
