//! HTTP routes, one module per resource.

pub mod api_keys;
pub mod claims;
pub mod health;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Service routes, present on every role (orchestrators probe workers too).
pub fn service_routes(cfg: &mut ServiceConfig) {
    cfg.service(health::health).service(health::ready).service(health::metrics);
}

/// The `/v1` API.
pub fn api_routes(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/v1")
            .service(claims::create_claim)
            .service(claims::list_claims)
            .service(claims::get_claim)
            .service(api_keys::create_api_key)
            .service(api_keys::list_api_keys)
            .service(api_keys::revoke_api_key),
    );
}
