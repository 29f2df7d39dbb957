//! `GET /v1/analytics/denials`: counts and amounts by category, payer or reason code, with the
//! rates a revenue-cycle manager watches.

use actix_web::{get, web};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use overturn_domain::{FieldError, Money};
use overturn_service::analytics::{self, Grouping, Period};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Allowed, ReadBilling};
use crate::error::{ApiError, Problem};
use crate::json::{Errors, parse_date};
use crate::routes::stored_money as money;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DenialAnalyticsQuery {
    /// `category` (default), `payer` or `reason_code`.
    #[param(example = "category", pattern = "^(category|payer|reason_code)?$")]
    pub group_by: Option<String>,
    /// First day included (UTC), by the day the denial was classified.
    #[param(value_type = Option<String>, example = "2026-01-01", pattern = r"^((19|2[0-9]|[3-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$")]
    pub from: Option<String>,
    /// Last day included (UTC).
    #[param(value_type = Option<String>, example = "2026-12-31", pattern = r"^((19|2[0-9]|[3-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$")]
    pub to: Option<String>,
}

/// Figures for one group, or for all.
#[derive(Debug, Serialize, ToSchema, Default)]
pub struct DenialFigures {
    pub denial_count: i64,
    #[schema(value_type = String, example = "1450.00")]
    pub denied_amount: Money,
    pub open_count: i64,
    pub overturned_count: i64,
    pub upheld_count: i64,
    pub written_off_count: i64,
    #[schema(value_type = String, example = "600.00")]
    pub recovered_amount: Money,
    /// Claim payments with at least one such denial.
    pub denied_claim_payments: i64,
    /// Claim payments received in the period (for a payer: from that payer).
    pub claim_payments: i64,
    /// `denied_claim_payments / claim_payments`, 0 to 1 (null without payments).
    pub denial_rate: Option<f64>,
    /// `overturned / (overturned + upheld)`, 0 to 1 (null before any is resolved).
    pub overturn_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DenialGroup {
    /// The category, payer id or reason code (`none` for denied claims without a reason).
    pub key: String,
    #[serde(flatten)]
    pub figures: DenialFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DenialAnalytics {
    pub group_by: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub totals: DenialFigures,
    /// Largest denied amount first.
    pub groups: Vec<DenialGroup>,
}

/// `from` and `to` (whole UTC days, both included) as a period; faults go to `errors`.
fn period_of(
    from: Option<&str>,
    to: Option<&str>,
    errors: &mut Errors,
) -> (Option<NaiveDate>, Option<NaiveDate>, Period) {
    let mut date = |field: &str, text: Option<&str>| {
        text.filter(|t| !t.is_empty()).and_then(|t| errors.take(field, parse_date(t)))
    };
    let from = date("from", from);
    let to = date("to", to);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.0.push(FieldError::new("to", "must not be before from"));
    }
    let start = from.map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()));
    // The day after `to`; none after 9999-12-31, past which nothing is stored (and which SQLite,
    // comparing timestamps as text, would put before every four-digit year).
    let end = to
        .and_then(|d| d.succ_opt())
        .filter(|d| d.year() <= 9999)
        .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()));
    (from, to, Period { start, end })
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0)
}

/// Denial analytics by category, payer or reason code.
#[utoipa::path(
    tag = "denials",
    params(DenialAnalyticsQuery),
    responses(
        (status = 200, body = DenialAnalytics),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/analytics/denials")]
pub async fn denial_analytics(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    query: web::Query<DenialAnalyticsQuery>,
) -> Result<web::Json<DenialAnalytics>, ApiError> {
    let mut errors = Errors(Vec::new());
    let group_by = query.group_by.as_deref().filter(|g| !g.is_empty()).unwrap_or("category");
    let grouping = match group_by {
        "category" => Grouping::Category,
        "payer" => Grouping::Payer,
        "reason_code" => Grouping::ReasonCode,
        _ => {
            errors.0.push(FieldError::new("group_by", "must be category, payer or reason_code"));
            Grouping::Category
        }
    };
    let (from, to, period) = period_of(query.from.as_deref(), query.to.as_deref(), &mut errors);
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    let counts = analytics::denial_counts(&state.db.read, grouping, period).await?;
    let mut groups: Vec<DenialGroup> = counts
        .groups
        .into_iter()
        .map(|g| DenialGroup {
            key: g.key,
            figures: DenialFigures {
                denial_count: g.denials,
                denied_amount: money(g.denied_cents),
                open_count: g.open,
                overturned_count: g.overturned,
                upheld_count: g.upheld,
                written_off_count: g.written_off,
                recovered_amount: money(g.recovered_cents),
                denied_claim_payments: g.denied_claim_payments,
                ..DenialFigures::default()
            },
        })
        .collect();
    let per_payer = counts.payments_by_payer;
    let all_payments: i64 = per_payer.iter().map(|(_, n)| n).sum();

    let mut totals = DenialFigures { claim_payments: all_payments, ..DenialFigures::default() };
    for g in &mut groups {
        let f = &mut g.figures;
        f.claim_payments = if grouping == Grouping::Payer {
            per_payer.iter().find(|(p, _)| *p == g.key).map_or(0, |(_, n)| *n)
        } else {
            all_payments
        };
        f.denial_rate = rate(f.denied_claim_payments, f.claim_payments);
        f.overturn_rate = rate(f.overturned_count, f.overturned_count + f.upheld_count);
        totals.denial_count += f.denial_count;
        totals.denied_amount = money(totals.denied_amount.cents() + f.denied_amount.cents());
        totals.open_count += f.open_count;
        totals.overturned_count += f.overturned_count;
        totals.upheld_count += f.upheld_count;
        totals.written_off_count += f.written_off_count;
        totals.recovered_amount = money(totals.recovered_amount.cents() + f.recovered_amount.cents());
    }
    // A claim payment with denials in two groups counts once in the totals.
    totals.denied_claim_payments = counts.denied_claim_payments;
    totals.denial_rate = rate(totals.denied_claim_payments, totals.claim_payments);
    totals.overturn_rate = rate(totals.overturned_count, totals.overturned_count + totals.upheld_count);
    groups
        .sort_by(|a, b| b.figures.denied_amount.cents().cmp(&a.figures.denied_amount.cents()).then(a.key.cmp(&b.key)));
    Ok(web::Json(DenialAnalytics { group_by: group_by.to_owned(), from, to, totals, groups }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RejectionAnalyticsQuery {
    /// `category` (default: the claim status category of the first rejecting status, `999`
    /// for a 999's), `code` (each claim status code, once per rejection) or `payer`.
    #[param(example = "code", pattern = "^(category|code|payer)?$")]
    pub group_by: Option<String>,
    /// First day included (UTC), by the day the rejection came.
    #[param(value_type = Option<String>, example = "2026-01-01", pattern = r"^((19|2[0-9]|[3-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$")]
    pub from: Option<String>,
    /// Last day included (UTC).
    #[param(value_type = Option<String>, example = "2026-12-31", pattern = r"^((19|2[0-9]|[3-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$")]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionFigures {
    pub rejection_count: i64,
    /// The rejected claims' charges.
    #[schema(value_type = String, example = "1450.00")]
    pub rejected_amount: Money,
    pub open_count: i64,
    /// Corrected and sent again, or otherwise closed.
    pub closed_count: i64,
    /// Claims an acknowledgment spoke of in the period (for a payer: that payer's; in other
    /// groupings, only in the totals).
    pub acknowledged_claims: i64,
    /// `rejection_count / acknowledged_claims` (null without acknowledged claims).
    pub rejection_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionGroupOut {
    /// The category (A7), status code (562) or payer id.
    pub key: String,
    /// The category or code in words, from the built-in lists.
    pub description: Option<String>,
    #[serde(flatten)]
    pub figures: RejectionFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectionAnalytics {
    pub group_by: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub totals: RejectionFigures,
    /// Most rejections first.
    pub groups: Vec<RejectionGroupOut>,
}

fn figures(g: &analytics::RejectionGroup) -> RejectionFigures {
    RejectionFigures {
        rejection_count: g.rejections,
        rejected_amount: money(g.rejected_cents),
        open_count: g.open,
        closed_count: g.closed,
        acknowledged_claims: g.acknowledged_claims,
        rejection_rate: rate(g.rejections, g.acknowledged_claims),
    }
}

/// Rejection analytics: claims returned before adjudication (999, 277CA, 277), by claim status
/// category, status code or payer, beside the denials of `GET /v1/analytics/denials` (where they
/// are the category `rejection`).
#[utoipa::path(
    tag = "denials",
    params(RejectionAnalyticsQuery),
    responses(
        (status = 200, body = RejectionAnalytics),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/analytics/rejections")]
pub async fn rejection_analytics(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    query: web::Query<RejectionAnalyticsQuery>,
) -> Result<web::Json<RejectionAnalytics>, ApiError> {
    use overturn_domain::code_sets::CodeList;
    use overturn_service::analytics::RejectionGrouping;
    let mut errors = Errors(Vec::new());
    let group_by = query.group_by.as_deref().filter(|g| !g.is_empty()).unwrap_or("category");
    let grouping = match group_by {
        "category" => RejectionGrouping::Category,
        "code" => RejectionGrouping::Code,
        "payer" => RejectionGrouping::Payer,
        _ => {
            errors.0.push(FieldError::new("group_by", "must be category, code or payer"));
            RejectionGrouping::Category
        }
    };
    let (from, to, period) = period_of(query.from.as_deref(), query.to.as_deref(), &mut errors);
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    let counts = analytics::rejection_counts(&state.db.read, grouping, period).await?;
    let list = match grouping {
        RejectionGrouping::Category => Some(CodeList::StatusCategory),
        RejectionGrouping::Code => Some(CodeList::Status),
        RejectionGrouping::Payer => None,
    };
    let groups = counts
        .groups
        .iter()
        .map(|g| RejectionGroupOut {
            key: g.key.clone(),
            description: list.and_then(|l| l.lookup(&g.key)).map(|c| c.description.to_owned()),
            figures: figures(g),
        })
        .collect();
    Ok(web::Json(RejectionAnalytics {
        group_by: group_by.to_owned(),
        from,
        to,
        totals: figures(&counts.totals),
        groups,
    }))
}
