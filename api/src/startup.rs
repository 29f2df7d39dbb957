//! Builds the HTTP server from the application state: routes, the OpenAPI document and
//! Swagger UI, error mapping and metrics. The process around it (database, queue, background
//! work) is put together by the `overturn` binary.

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, ensure_problem_json};
use crate::metrics::observe;
use crate::openapi::ApiDoc;
use crate::routes;
use crate::state::AppState;

/// The HTTP server on `listener`. A worker-only process (`serves_api` false) answers only
/// the health and metrics routes.
pub fn http_server(state: AppState, listener: TcpListener, serves_api: bool) -> std::io::Result<Server> {
    let settings = state.settings.clone();
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        let max_body = data.settings.max_body_bytes;
        let mut app = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|err, _| ApiError::BadRequest(format!("invalid query string: {err}")).into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|err, _| ApiError::NotFound(format!("invalid path: {err}")).into()),
            )
            .configure(routes::service_routes);
        if serves_api {
            app = app.configure(routes::api_routes);
        }
        let (app, doc) = app.split_for_parts();
        let doc = crate::openapi::with_conventions(doc);
        let known = web::Data::new(routes::KnownRoutes::from_document(&doc));
        let app = if serves_api {
            app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc)).route(
                "/docs",
                web::get()
                    .to(|| async { HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish() }),
            )
        } else {
            app
        };
        app.app_data(known)
            .default_service(web::to(routes::fallback))
            .wrap(from_fn(crate::audit::trail))
            .wrap(from_fn(refuse_encoded_bodies))
            .wrap(cors(&data.settings.cors_origins))
            .wrap(ErrorHandlers::new().default_handler(ensure_problem_json))
            .wrap(from_fn(observe))
    })
    .listen(listener)?
    .shutdown_timeout(settings.shutdown_timeout.as_secs());
    if settings.http_workers > 0 {
        server = server.workers(settings.http_workers);
    }
    Ok(server.run())
}

/// Cross-origin calls from the portal pages named in `OVERTURN_CORS_ORIGINS`, which call
/// the patient routes with a patient session; none from anywhere else. Tokens travel in the
/// `Authorization` header, never in cookies, so credentials mode stays off.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::header;
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .allowed_header(header::HeaderName::from_static("idempotency-key"))
        .expose_headers([header::HeaderName::from_static("x-request-id")])
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Request bodies are taken as sent, never inflated: actix-web would decompress a
/// `Content-Encoding: gzip` body before any size limit or permission is checked, and 1 MB of
/// gzip became 1 GiB in memory (issue #17). A 415 before anything else runs.
async fn refuse_encoded_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(encoding) = req.headers().get(actix_web::http::header::CONTENT_ENCODING) {
        let identity = encoding.to_str().is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"));
        if !identity {
            return Err(ApiError::UnsupportedMediaType(
                "request bodies are not accepted compressed (Content-Encoding); send the body as is".into(),
            )
            .into());
        }
    }
    next.call(req).await
}
