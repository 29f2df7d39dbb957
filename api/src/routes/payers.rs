//! `/v1/payers/{payer_id}/rules`: a payer's deadlines. Changing them moves the appeal
//! deadlines (and priorities) of that payer's denials still being worked, and the
//! follow-ups those rules time.

use actix_web::{HttpRequest, get, put, web};
use chrono::{DateTime, Utc};
use overturn_domain::PayerId;
use overturn_domain::classification::PayerRules as Rules;
use overturn_entity::payer_rule;
use overturn_service::payers;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Allowed, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::json::{Errors, parse_body};
use crate::state::AppState;

/// A payer's deadlines, in calendar days (UTC).
#[derive(Debug, Serialize, ToSchema)]
pub struct PayerRules {
    #[schema(example = "60054")]
    pub payer_id: String,
    /// Days from the 835's production date to the appeal deadline.
    #[schema(example = 180)]
    pub appeal_window_days: i32,
    /// Days from the date of service a claim must reach the payer within.
    #[schema(example = 365)]
    pub timely_filing_days: i32,
    /// Days without a payer response after which a claim's status is checked.
    #[schema(example = 30)]
    pub status_check_after_days: i32,
    /// True while the payer has no rules of its own (the defaults apply).
    pub default: bool,
    pub updated_at: Option<DateTime<Utc>>,
    /// On `PUT`: open denials whose deadline and priority were recomputed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_denials: Option<u64>,
    /// On `PUT`: scheduled follow-ups moved to the new dates (snoozed ones keep theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_follow_ups: Option<u64>,
}

impl PayerRules {
    fn from_row(row: &payer_rule::Model) -> Self {
        Self {
            payer_id: row.payer_id.clone(),
            appeal_window_days: row.appeal_window_days,
            timely_filing_days: row.timely_filing_days,
            status_check_after_days: row.status_check_after_days,
            default: false,
            updated_at: Some(row.updated_at),
            updated_denials: None,
            updated_follow_ups: None,
        }
    }

    fn defaults(payer_id: &str) -> Self {
        let d = Rules::default();
        Self {
            payer_id: payer_id.to_owned(),
            appeal_window_days: d.appeal_window_days.into(),
            timely_filing_days: d.timely_filing_days.into(),
            status_check_after_days: d.status_check_after_days.into(),
            default: true,
            updated_at: None,
            updated_denials: None,
            updated_follow_ups: None,
        }
    }
}

/// The body of `PUT /v1/payers/{payer_id}/rules`; a field left out takes its default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerRulesRequest {
    /// 1 to 3650 (default 180).
    #[schema(minimum = 1, maximum = 3650, example = 120)]
    #[serde(default, deserialize_with = "whole_number")]
    pub appeal_window_days: Option<i64>,
    /// 1 to 3650 (default 365).
    #[schema(minimum = 1, maximum = 3650, example = 365)]
    #[serde(default, deserialize_with = "whole_number")]
    pub timely_filing_days: Option<i64>,
    /// 1 to 3650 (default 30).
    #[schema(minimum = 1, maximum = 3650, example = 30)]
    #[serde(default, deserialize_with = "whole_number")]
    pub status_check_after_days: Option<i64>,
}

/// A whole number of days, however JSON writes it (`30` or `30.0`); a fraction is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(de)? else { return Ok(None) };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(Some(f as i64)),
        _ => Err(serde::de::Error::custom(format!("{n} is not a whole number of days"))),
    }
}

fn payer_id(text: &str) -> Result<String, ApiError> {
    PayerId::parse(text)
        .map(|p| p.as_str().to_owned())
        .map_err(|e| ApiError::validation(vec![overturn_domain::FieldError::new("payer_id", e.to_string())]))
}

/// A payer's rules (the defaults when it has none).
#[utoipa::path(
    tag = "payers",
    params(("payer_id" = String, Path, description = "The payer's id (as on claims and in N1*PR of the 835)", max_length = 80, pattern = r"^[!-)+-9;-=?-\[\]_-{}]([ -)+-9;-=?-\[\]_-{}]*[!-)+-9;-=?-\[\]_-{}])?$")),
    responses(
        (status = 200, body = PayerRules),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/payers/{payer_id}/rules")]
pub async fn get_payer_rules(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    path: web::Path<String>,
) -> Result<web::Json<PayerRules>, ApiError> {
    let payer = payer_id(&path)?;
    let row = payers::rules_of(&state.db.read, &payer).await?;
    Ok(web::Json(row.as_ref().map_or_else(|| PayerRules::defaults(&payer), PayerRules::from_row)))
}

/// Set a payer's rules. Open denials of the payer get their appeal deadline and priority
/// recomputed, and its scheduled follow-ups (status checks, timely filing, appeal reminders)
/// move to the new dates, in the same transaction. Snoozed follow-ups keep their date.
#[utoipa::path(
    tag = "payers",
    request_body = PayerRulesRequest,
    params(("payer_id" = String, Path, description = "The payer's id (as on claims and in N1*PR of the 835)", max_length = 80, pattern = r"^[!-)+-9;-=?-\[\]_-{}]([ -)+-9;-=?-\[\]_-{}]*[!-)+-9;-=?-\[\]_-{}])?$")),
    responses(
        (status = 200, body = PayerRules),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[put("/payers/{payer_id}/rules")]
pub async fn put_payer_rules(
    state: web::Data<AppState>,
    _caller: Allowed<WriteBilling>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<web::Json<PayerRules>, ApiError> {
    let payer = payer_id(&path)?;
    let request: PayerRulesRequest = parse_body(&req, &body)?;
    let defaults = Rules::default();
    let mut errors = Errors(Vec::new());
    let mut days = |field: &str, value: Option<i64>, default: u16| -> u16 {
        match value {
            None => default,
            Some(v) if (1..=i64::from(Rules::MAX_DAYS)).contains(&v) => v as u16,
            Some(_) => {
                errors
                    .0
                    .push(overturn_domain::FieldError::new(field, format!("must be from 1 to {}", Rules::MAX_DAYS)));
                default
            }
        }
    };
    let rules = Rules {
        appeal_window_days: days("appeal_window_days", request.appeal_window_days, defaults.appeal_window_days),
        timely_filing_days: days("timely_filing_days", request.timely_filing_days, defaults.timely_filing_days),
        status_check_after_days: days(
            "status_check_after_days",
            request.status_check_after_days,
            defaults.status_check_after_days,
        ),
    };
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    let changed = payers::set_rules(&state.db.write, &payer, &rules).await?;
    let row = changed.row;
    let mut shown = PayerRules::from_row(&row);
    shown.updated_denials = Some(changed.denials);
    shown.updated_follow_ups = Some(changed.follow_ups);
    Ok(web::Json(shown))
}
