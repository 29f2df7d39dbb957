//! Prometheus metrics and the per-request middleware that feeds them and the logs.
//!
//! Labels are the route *pattern* (`/v1/claims/{id}`), the method and the status: never a
//! raw path or query, which could carry a member id or a name.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub queue_depth: prometheus::IntGauge,
    pub outbox_pending: prometheus::IntGauge,
    pub webhook_queue_depth: prometheus::IntGauge,
    pub webhooks_pending: prometheus::IntGauge,
    pub followups_overdue: prometheus::IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("overturn_http_requests_total", "HTTP requests by route, method and status"),
            &["route", "method", "status"],
        )
        .expect("valid metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "overturn_http_request_duration_seconds",
                "HTTP request latency by route, method and status",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["route", "method", "status"],
        )
        .expect("valid metric definition");
        let build = prometheus::IntGauge::with_opts(
            Opts::new("overturn_build_info", "Always 1; the version is a label")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .expect("valid metric definition");
        build.set(1);
        registry.register(Box::new(requests.clone())).expect("registered once");
        registry.register(Box::new(latency.clone())).expect("registered once");
        registry.register(Box::new(build)).expect("registered once");
        let queue_depth =
            prometheus::IntGauge::new("overturn_queue_depth", "Jobs in the queue not yet taken by a worker")
                .expect("valid metric definition");
        let outbox_pending = prometheus::IntGauge::new(
            "overturn_outbox_pending",
            "Jobs committed to the database and not yet handed to the queue",
        )
        .expect("valid metric definition");
        registry.register(Box::new(queue_depth.clone())).expect("registered once");
        registry.register(Box::new(outbox_pending.clone())).expect("registered once");
        let webhook_queue_depth = prometheus::IntGauge::new(
            "overturn_webhook_queue_depth",
            "Webhook attempts in the queue not yet taken by a worker",
        )
        .expect("valid metric definition");
        let webhooks_pending = prometheus::IntGauge::new(
            "overturn_webhooks_pending",
            "Webhook deliveries not yet succeeded or given up (due now or waiting for a retry)",
        )
        .expect("valid metric definition");
        registry.register(Box::new(webhook_queue_depth.clone())).expect("registered once");
        registry.register(Box::new(webhooks_pending.clone())).expect("registered once");
        let followups_overdue = prometheus::IntGauge::new(
            "overturn_followups_overdue",
            "Follow-ups past their due time and not fired yet (above zero for long: no worker is firing them)",
        )
        .expect("valid metric definition");
        registry.register(Box::new(followups_overdue.clone())).expect("registered once");
        Self {
            registry,
            requests,
            latency,
            queue_depth,
            outbox_pending,
            webhook_queue_depth,
            webhooks_pending,
            followups_overdue,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        self.requests.with_label_values(&[route, method, &status]).inc();
        self.latency.with_label_values(&[route, method, &status]).observe(seconds);
    }
}

/// A client's request id if it is a sane token, else a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Request id, one log line per request, and metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = method_label(req.method());
    let metrics = req.app_data::<actix_web::web::Data<crate::state::AppState>>().map(|s| s.metrics.clone());
    actix_web::HttpMessage::extensions_mut(&req).insert(crate::audit::RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method, route = tracing::field::Empty);
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    match result {
        Ok(mut res) => {
            let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
            let status = res.status().as_u16();
            span.record("route", route.as_str());
            span.in_scope(|| {
                tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request");
            });
            if let Some(metrics) = metrics {
                metrics.observe(&route, method, status, elapsed.as_secs_f64());
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            Ok(res)
        }
        Err(err) => {
            let status = err.as_response_error().status_code().as_u16();
            span.in_scope(|| tracing::warn!(status, "request failed in middleware"));
            if let Some(metrics) = metrics {
                metrics.observe("unmatched", method, status, elapsed.as_secs_f64());
            }
            Err(err)
        }
    }
}
