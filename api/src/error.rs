//! The one place where errors become HTTP responses: RFC 9457 problem details.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use overturn_domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For validation problems: every field that is wrong, by JSON path. For a refused EDI
    /// file: where it is wrong (the same four members also appear at the top level).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<ProblemItem>)]
    pub errors: Vec<ErrorItem>,
    /// For a refused EDI file: the 1-based index of the segment at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_index: Option<usize>,
    /// For a refused EDI file: the id of the segment at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<String>,
    /// For a refused EDI file: the 1-based element position, null when the whole segment is at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<usize>)]
    pub element: Option<Option<usize>>,
    /// For a refused EDI file: what was expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For a claim the scrubber refused: every edit, errors and warnings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edits: Option<Vec<crate::routes::claims::ClaimEdit>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ErrorItem {
    Field(FieldError),
    Edi(EdiErrorLocation),
}

/// One entry of a problem's `errors`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // documents the shape of `ErrorItem` for the OpenAPI document
pub enum ProblemItem {
    Field(ValidationError),
    Edi(EdiErrorLocation),
}

/// Where an X12 file is wrong: the 1-based segment index in the file, the segment id, the
/// 1-based element position when one element is at fault, and what was expected.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EdiErrorLocation {
    pub segment_index: usize,
    pub segment_id: String,
    pub element: Option<usize>,
    pub message: String,
}

/// One invalid field of a request body or query.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documents the shape of `FieldError` for the OpenAPI document
pub struct ValidationError {
    /// JSON path of the field, e.g. `lines[0].charge`.
    field: String,
    message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    Validation { detail: String, errors: Vec<FieldError> },
    /// Well-formed, but refused by a rule (a webhook URL pointing inside the network).
    #[error("{detail}")]
    Unprocessable { detail: String, errors: Vec<FieldError> },
    /// A claim the scrubber refused (an `error` edit, without `?scrub=warn`).
    #[error("{detail}")]
    Scrubbed { detail: String, edits: Vec<overturn_domain::scrub::Edit> },
    #[error("{0}")]
    BadRequest(String),
    #[error("the X12 file was refused: {0}")]
    Edi(overturn_domain::x12::EdiError),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("a valid API key is required: send `Authorization: Bearer <key>`")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the database is unavailable")]
    Unavailable(#[source] sea_orm::DbErr),
    #[error("the job queue is unavailable: {0}")]
    QueueUnavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{} {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::Validation { detail, errors }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation-error",
            Self::Unprocessable { .. } => "refused",
            Self::Scrubbed { .. } => "scrub-errors",
            Self::BadRequest(_) => "bad-request",
            Self::Edi(_) => "invalid-edi",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::RequestTimeout(_) => "request-timeout",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::Conflict(_) => "conflict",
            Self::IdempotencyMismatch => "idempotency-key-reused",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Unavailable(_) | Self::QueueUnavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<overturn_service::claim_writer::WriteError> for ApiError {
    fn from(err: overturn_service::claim_writer::WriteError) -> Self {
        use overturn_service::claim_writer::WriteError;
        match err {
            WriteError::Unavailable(message) => Self::Unavailable(sea_orm::DbErr::Custom(message)),
            WriteError::Internal(message) => Self::Internal(anyhow::anyhow!(message)),
        }
    }
}

impl From<overturn_service::jobs::RetryError> for ApiError {
    fn from(err: overturn_service::jobs::RetryError) -> Self {
        use overturn_service::jobs::RetryError;
        match err {
            RetryError::NotFound(_) => Self::NotFound(err.to_string()),
            RetryError::AlreadyRetried(_) => Self::Conflict(err.to_string()),
            RetryError::Unrunnable { .. } => Self::Unprocessable { detail: err.to_string(), errors: Vec::new() },
            RetryError::Db(e) => e.into(),
        }
    }
}

impl From<overturn_service::followups::worklist::ChangeError> for ApiError {
    fn from(err: overturn_service::followups::worklist::ChangeError) -> Self {
        use overturn_service::followups::worklist::ChangeError;
        match err {
            ChangeError::NotFound(_) => Self::NotFound(err.to_string()),
            ChangeError::NotAllowed(_) | ChangeError::Raced => Self::Conflict(err.to_string()),
            ChangeError::Db(e) => e.into(),
        }
    }
}

impl From<overturn_service::denials::ActError> for ApiError {
    fn from(err: overturn_service::denials::ActError) -> Self {
        use overturn_service::denials::ActError;
        match err {
            ActError::NotFound(_) => Self::NotFound(err.to_string()),
            ActError::NotAllowed(_) | ActError::Raced => Self::Conflict(err.to_string()),
            ActError::Db(e) => e.into(),
        }
    }
}

impl From<overturn_service::contacts::DeliveryError> for ApiError {
    fn from(err: overturn_service::contacts::DeliveryError) -> Self {
        use overturn_service::contacts::DeliveryError;
        match err {
            DeliveryError::NoDelivery(_) | DeliveryError::NoContact(_) => Self::NotFound(err.to_string()),
            DeliveryError::StillPending | DeliveryError::ContactDisabled | DeliveryError::Raced => {
                Self::Conflict(err.to_string())
            }
            DeliveryError::Db(e) => e.into(),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        if overturn_service::db::is_unavailable(&err) { Self::Unavailable(err) } else { Self::Internal(err.into()) }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation { .. } | Self::BadRequest(_) | Self::Edi(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::IdempotencyMismatch | Self::Unprocessable { .. } | Self::Scrubbed { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) | Self::QueueUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The source can name tables and constraints; never patient data (statement
            // logging is off and values are not part of DbErr messages).
            tracing::error!(error = ?self, "request failed");
        }
        let mut errors: Vec<ErrorItem> = match self {
            Self::Validation { errors, .. } | Self::Unprocessable { errors, .. } => {
                errors.iter().cloned().map(ErrorItem::Field).collect()
            }
            _ => Vec::new(),
        };
        let edi = match self {
            Self::Edi(e) => Some(EdiErrorLocation {
                segment_index: e.segment_index,
                segment_id: e.segment_id.clone(),
                element: e.element,
                message: e.message.clone(),
            }),
            _ => None,
        };
        errors.extend(edi.clone().map(ErrorItem::Edi));
        let problem = Problem {
            kind: format!("https://overturn.dev/problems/{}", self.kind()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            errors,
            segment_index: edi.as_ref().map(|e| e.segment_index),
            segment_id: edi.as_ref().map(|e| e.segment_id.clone()),
            element: edi.as_ref().map(|e| e.element),
            message: edi.map(|e| e.message),
            edits: match self {
                Self::Scrubbed { edits, .. } => {
                    Some(edits.iter().cloned().map(crate::routes::claims::ClaimEdit::from).collect())
                }
                _ => None,
            },
        };
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_JSON);
        if matches!(self, Self::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(problem)
    }
}

/// Turns every error response that is not already a problem document (actix's own 404, 405,
/// 413, extractor errors) into one, so clients handle a single error format.
pub fn ensure_problem_json<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match status {
        StatusCode::NOT_FOUND => "no such route".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this route does not accept that method".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than this server accepts".to_owned(),
        _ => res
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
    };
    let problem = Problem {
        kind: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors: Vec::new(),
        segment_index: None,
        segment_id: None,
        element: None,
        message: None,
        edits: None,
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let (req, mut response) = res.into_parts();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let response = response.set_body(BoxBody::new(body));
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, response).map_into_right_body()))
}
