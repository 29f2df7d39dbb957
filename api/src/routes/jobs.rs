//! `/v1/jobs`: background jobs that failed on every attempt, and putting them back to work.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use overturn_entity::failed_job;
use overturn_service::jobs::{self, DeadJobState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Allowed, ManageJobs};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::pagination::Page;
use crate::state::AppState;

/// A job that failed on its last attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedJob {
    pub id: Uuid,
    /// What the job does, e.g. `classify_remittance`.
    #[schema(example = "classify_remittance")]
    pub topic: String,
    /// `failed`, or `retried` once put back in the queue.
    #[schema(example = "failed")]
    pub state: &'static str,
    /// The record it is about (the remittance of a classification).
    pub subject_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// The last attempt's error.
    pub error: String,
    pub attempts: i32,
    pub failed_at: DateTime<Utc>,
    pub retried_at: Option<DateTime<Utc>>,
}

impl FailedJob {
    fn from_row(row: &failed_job::Model) -> Self {
        Self {
            id: row.id,
            topic: row.topic.clone(),
            state: if row.retried_at.is_some() { "retried" } else { "failed" },
            subject_id: row.subject_id,
            payload: row.payload.clone(),
            error: row.error.clone(),
            attempts: row.attempts,
            failed_at: row.failed_at,
            retried_at: row.retried_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedJobList {
    pub items: Vec<FailedJob>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// `failed` (the default: dead jobs not yet retried) or `retried`.
    #[param(example = "failed", pattern = "^(failed|retried)?$")]
    pub state: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Dead jobs, newest first (admin).
#[utoipa::path(
    tag = "jobs",
    params(JobListQuery),
    responses(
        (status = 200, body = FailedJobList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/jobs")]
pub async fn list_jobs(
    state: web::Data<AppState>,
    _caller: Allowed<ManageJobs>,
    query: web::Query<JobListQuery>,
) -> Result<web::Json<FailedJobList>, ApiError> {
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let state_filter = match query.state.as_deref().unwrap_or("failed") {
        "failed" | "" => DeadJobState::Failed,
        "retried" => DeadJobState::Retried,
        _ => {
            return Err(ApiError::validation(vec![overturn_domain::FieldError::new(
                "state",
                "must be failed or retried",
            )]));
        }
    };
    let rows = jobs::list_dead(&state.db.read, state_filter, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(web::Json(FailedJobList { items: rows.iter().map(FailedJob::from_row).collect(), next_cursor }))
}

/// Put a dead job back in the queue (admin). It runs afresh, with a new series of attempts.
#[utoipa::path(
    tag = "jobs",
    params(
        ("id" = Uuid, Path, description = "The failed job's id"),
    ),
    responses(
        (status = 202, body = FailedJob),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already retried", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another request, or the job names work this version does not run", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/jobs/{id}/retry")]
pub async fn retry_job(
    state: web::Data<AppState>,
    caller: Allowed<ManageJobs>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job_id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound(format!("no failed job {id}")))?;
    let response = idempotency::run(&state.db.write, &req, caller.key_id, &[], async |txn| {
        let row = jobs::retry(txn, job_id).await?;
        Ok((StatusCode::ACCEPTED, FailedJob::from_row(&row)))
    })
    .await;
    state.relay_wake.notify_one();
    response
}
