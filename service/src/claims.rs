//! Reading claims: one, a filtered page, and their lines. Claims are written by the
//! `claim_writer` (in batches) and settled by remittances.

use std::collections::HashMap;

use overturn_domain::{ClaimDraft, ClaimStatus};
use overturn_entity::{claim, claim_line};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::sql::MAX_PARAMS;

/// What a claim list is narrowed to; every field is an exact match.
#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    pub status: Option<ClaimStatus>,
    pub claim_number: Option<String>,
    pub payer_id: Option<String>,
    pub member_id: Option<String>,
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<claim::Model>, DbErr> {
    claim::Entity::find_by_id(id).one(db).await
}

/// Claims matching `filter`, newest first, after the cursor `before` (exclusive), at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ClaimFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<claim::Model>, DbErr> {
    let mut select = claim::Entity::find();
    if let Some(status) = filter.status {
        select = select.filter(claim::Column::Status.eq(status.as_str()));
    }
    if let Some(number) = &filter.claim_number {
        select = select.filter(claim::Column::ClaimNumber.eq(number.as_str()));
    }
    if let Some(payer) = &filter.payer_id {
        select = select.filter(claim::Column::PayerId.eq(payer.as_str()));
    }
    if let Some(member) = &filter.member_id {
        select = select.filter(claim::Column::PatientMemberId.eq(member.as_str()));
    }
    if let Some(before) = before {
        select = select.filter(claim::Column::Id.lt(before));
    }
    select.order_by_desc(claim::Column::Id).limit(limit).all(db).await
}

/// The lines of these claims, in line order.
pub async fn lines_of(
    db: &impl ConnectionTrait,
    claims: &[Uuid],
) -> Result<HashMap<Uuid, Vec<claim_line::Model>>, DbErr> {
    let mut by_claim: HashMap<Uuid, Vec<claim_line::Model>> = HashMap::new();
    for chunk in claims.chunks(MAX_PARAMS) {
        let lines = claim_line::Entity::find()
            .filter(claim_line::Column::ClaimId.is_in(chunk.iter().copied()))
            .order_by_asc(claim_line::Column::ClaimId)
            .order_by_asc(claim_line::Column::LineNumber)
            .all(db)
            .await?;
        for line in lines {
            by_claim.entry(line.claim_id).or_default().push(line);
        }
    }
    Ok(by_claim)
}

/// The member id each of these claims was submitted with.
pub async fn members_of(db: &impl ConnectionTrait, claims: &[Uuid]) -> Result<HashMap<Uuid, String>, DbErr> {
    let mut out = HashMap::with_capacity(claims.len());
    for chunk in claims.chunks(MAX_PARAMS) {
        let rows: Vec<(Uuid, String)> = claim::Entity::find()
            .select_only()
            .column(claim::Column::Id)
            .column(claim::Column::PatientMemberId)
            .filter(claim::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// The rows of a new claim (not stored yet): a fresh id, status submitted, nothing paid.
pub fn rows_of(
    draft: &ClaimDraft,
    submitted_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> (claim::Model, Vec<claim_line::Model>) {
    let id = Uuid::now_v7();
    // `check` has already refused a sum that does not fit.
    let total = draft.total_charge().unwrap_or_default();
    let row = claim::Model {
        id,
        claim_number: draft.claim_number.as_str().to_owned(),
        payer_id: draft.payer_id.as_str().to_owned(),
        payer_name: draft.payer_name.as_str().to_owned(),
        patient_member_id: draft.patient_member_id.as_str().to_owned(),
        patient_first_name: draft.patient_first_name.as_str().to_owned(),
        patient_last_name: draft.patient_last_name.as_str().to_owned(),
        patient_date_of_birth: draft.patient_date_of_birth,
        provider_npi: draft.provider_npi.as_str().to_owned(),
        provider_name: draft.provider_name.as_str().to_owned(),
        service_date: draft.service_date,
        submitted_at,
        frequency_code: draft.frequency_code.code().to_owned(),
        payer_claim_control_number: draft.payer_claim_control_number.as_ref().map(|p| p.as_str().to_owned()),
        diagnosis_codes: serde_json::json!(draft.diagnosis_codes.iter().map(|d| d.as_str()).collect::<Vec<_>>()),
        total_charge_cents: total.cents(),
        paid_amount_cents: 0,
        patient_responsibility_cents: 0,
        status: ClaimStatus::Submitted.into(),
        created_at: now,
        updated_at: now,
        replaces_claim_id: None,
        revision: 0,
        accepted_at: None,
        payer_status: None,
        edits: None,
    };
    let lines = line_rows(id, &draft.lines);
    (row, lines)
}

/// The rows of a claim's lines, numbered from 1.
pub fn line_rows(claim_id: Uuid, lines: &[overturn_domain::ClaimLineDraft]) -> Vec<claim_line::Model> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| claim_line::Model {
            claim_id,
            line_number: i as i32 + 1,
            // An institutional line may have a revenue code only: its procedure code is "".
            procedure_code: line.procedure_code.as_ref().map_or_else(String::new, |c| c.as_str().to_owned()),
            modifiers: serde_json::json!(line.modifiers.iter().map(|m| m.as_str()).collect::<Vec<_>>()),
            units: line.units.to_string(),
            charge_cents: line.charge.cents(),
            service_date: line.service_date,
            line_control_number: line.line_control_number.as_ref().map(|n| n.as_str().to_owned()),
        })
        .collect()
}

/// The latest claim of a number's chain, as far as a new claim of that number needs it.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct Head {
    pub id: Uuid,
    pub claim_number: String,
    pub revision: i32,
    pub frequency_code: String,
    pub payer_claim_control_number: Option<String>,
    pub replaces_claim_id: Option<Uuid>,
}

/// For each claim number, the latest claim of its chain (the claim no other replaces).
pub async fn latest_of_numbers(db: &impl ConnectionTrait, numbers: &[String]) -> Result<HashMap<String, Head>, DbErr> {
    let mut out = HashMap::new();
    for chunk in numbers.chunks(MAX_PARAMS) {
        let found: Vec<Head> = claim::Entity::find()
            .select_only()
            .column(claim::Column::Id)
            .column(claim::Column::ClaimNumber)
            .column(claim::Column::Revision)
            .column(claim::Column::FrequencyCode)
            .column(claim::Column::PayerClaimControlNumber)
            .column(claim::Column::ReplacesClaimId)
            .filter(claim::Column::ClaimNumber.is_in(chunk.iter().cloned()))
            .into_model::<Head>()
            .all(db)
            .await?;
        let replaced: std::collections::HashSet<Uuid> = found.iter().filter_map(|c| c.replaces_claim_id).collect();
        out.extend(found.into_iter().filter(|c| !replaced.contains(&c.id)).map(|c| (c.claim_number.clone(), c)));
    }
    Ok(out)
}
