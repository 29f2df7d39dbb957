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
        description = "Claim denial management for US medical billing teams: claims, payer responses (X12 835), denials, follow-ups and signed webhooks. Every /v1 route needs `Authorization: Bearer <api key>`. Errors are RFC 9457 problem documents.",
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
        (name = "remittances", description = "Payer responses: X12 835 files or their JSON form"),
        (name = "denials", description = "Denials classified from payer responses: the worklist, its actions and analytics"),
        (name = "payers", description = "Payers' deadline rules"),
        (name = "follow-ups", description = "What to chase and when: status checks of unanswered claims, reminders before appeal deadlines (30, 14 and 3 days) and their escalation, resubmissions, patient outreach and timely-filing limits. Days are calendar days in UTC; a follow-up due on a date falls due at 00:00 UTC. One falls due at `due_at` (at once when already due, even after downtime), sends `followup.due` to its target's contacts and waits in the worklist (`status=fired`)."),
        (name = "contacts", description = "Webhook receivers for patients and payers, and every delivery to them. Deliveries follow Standard Webhooks: a POST of `WebhookEnvelope` with `webhook-id` (the same on every attempt), `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of \"id.timestamp.body\">` (two signatures, space-separated, for 24 hours after a secret rotation). The `data` schemas: `BalanceDueData` (patient.balance_due), `ActionRequiredData` (patient.action_required), `DenialCreatedData` (denial.created), `FollowUpDueData` (followup.due), `PingData` (ping)."),
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
    doc
}
