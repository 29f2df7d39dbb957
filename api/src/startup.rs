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
            .wrap(from_fn(body_deadline))
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

/// A request's body must have arrived within `OVERTURN_BODY_TIMEOUT_SECS` of its start, or
/// the request is answered 408: one byte a second would otherwise hold a connection, a worker
/// and (for a remittance) a growing buffer for as long as the client liked. The request line and
/// headers have actix's own limit (5 s).
async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(timeout) = req.app_data::<web::Data<AppState>>().map(|s| s.settings.body_timeout) else {
        return next.call(req).await;
    };
    let expired = std::rc::Rc::new(std::cell::Cell::new(false));
    let payload = actix_web::HttpMessage::take_payload(&mut req);
    let limited =
        DeadlineStream { inner: payload, deadline: Box::pin(tokio::time::sleep(timeout)), expired: expired.clone() };
    req.set_payload(actix_web::dev::Payload::Stream { payload: Box::pin(limited) });
    let res = next.call(req).await?;
    if expired.get() {
        return Err(ApiError::RequestTimeout(format!(
            "the request body did not arrive within {} s (OVERTURN_BODY_TIMEOUT_SECS)",
            timeout.as_secs()
        ))
        .into());
    }
    Ok(res)
}

/// A request body that fails once its deadline passes.
struct DeadlineStream {
    inner: actix_web::dev::Payload,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    expired: std::rc::Rc<std::cell::Cell<bool>>,
}

impl futures::Stream for DeadlineStream {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        use std::task::Poll;
        if let Poll::Ready(item) = std::pin::Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.set(true);
            let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body timed out");
            return Poll::Ready(Some(Err(actix_web::error::PayloadError::Io(timed_out))));
        }
        Poll::Pending
    }
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
