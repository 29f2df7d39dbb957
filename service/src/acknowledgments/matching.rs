//! Finding the claim each 277CA or 277 claim row speaks of: a 277 answering one of our 276s by
//! its trace (the status check's id); then by the patient control number (the claim number), then the payer's claim number (REF*1K: a claim that cites it, or one
//! a payment under it was matched to), then the member id with the date of service and the
//! charge. A step that finds more than one claim leaves the row `ambiguous` rather than
//! applied to the wrong one; a row no step finds waits for a claim of its number.

use std::collections::{HashMap, HashSet};

use overturn_entity::{acknowledgment_claim, claim, claim_payment};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::sql::{MAX_PARAMS, any_of};

fn strings(backend: sea_orm::DbBackend, column: impl ColumnTrait, values: &[String]) -> sea_orm::sea_query::SimpleExpr {
    any_of(backend, column, sea_orm::sea_query::ArrayType::String, values)
}

fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values.map(str::to_owned).collect::<HashSet<_>>().into_iter().collect()
}

/// Sets `claim_id`, `matched_by` and `state` (`applied` once matched, else `waiting` or
/// `ambiguous`) of each row whose `state` is not final yet.
pub(super) async fn match_rows<C: ConnectionTrait>(
    db: &C,
    rows: &mut [acknowledgment_claim::Model],
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let open = |r: &acknowledgment_claim::Model| r.claim_id.is_none() && r.state != "ambiguous";

    // 0. A 277 answering one of our 276s carries its trace: the status check, and so its claim.
    let checks: Vec<Uuid> = rows
        .iter()
        .filter(|r| open(r) && r.kind == overturn_domain::x12::ack::AckKind::ClaimStatus.as_str())
        .filter_map(|r| super::inquiry::follow_up_of_trace(&r.trace))
        .collect();
    if !checks.is_empty() {
        let mut claim_of: HashMap<Uuid, Uuid> = HashMap::new();
        for chunk in checks.chunks(MAX_PARAMS) {
            let found: Vec<(Uuid, Option<Uuid>)> = overturn_entity::follow_up::Entity::find()
                .select_only()
                .column(overturn_entity::follow_up::Column::Id)
                .column(overturn_entity::follow_up::Column::ClaimId)
                .filter(any_of(
                    backend,
                    overturn_entity::follow_up::Column::Id,
                    sea_orm::sea_query::ArrayType::Uuid,
                    chunk,
                ))
                .into_tuple()
                .all(db)
                .await?;
            claim_of.extend(found.into_iter().filter_map(|(f, c)| Some((f, c?))));
        }
        for r in rows.iter_mut().filter(|r| open(r)) {
            if let Some(claim) = super::inquiry::follow_up_of_trace(&r.trace).and_then(|f| claim_of.get(&f)) {
                r.claim_id = Some(*claim);
                r.matched_by = Some("inquiry".into());
            }
        }
    }

    // 1. The claim number: the latest claim of it, the one no correction replaces.
    let numbers = distinct(rows.iter().filter(|r| open(r)).map(|r| r.claim_number.as_str()));
    let by_number: HashMap<String, Uuid> =
        crate::claims::latest_of_numbers(db, &numbers).await?.into_iter().map(|(n, head)| (n, head.id)).collect();
    for r in rows.iter_mut().filter(|r| open(r)) {
        if let Some(id) = by_number.get(&r.claim_number) {
            r.claim_id = Some(*id);
            r.matched_by = Some("claim_number".into());
        }
    }

    // 2. The payer's claim number.
    let payer_numbers = distinct(rows.iter().filter(|r| open(r)).filter_map(|r| r.payer_claim_number.as_deref()));
    if !payer_numbers.is_empty() {
        let mut owners: HashMap<String, HashSet<Uuid>> = HashMap::new();
        for chunk in payer_numbers.chunks(MAX_PARAMS) {
            let citing: Vec<(Option<String>, Uuid)> = claim::Entity::find()
                .select_only()
                .column(claim::Column::PayerClaimControlNumber)
                .column(claim::Column::Id)
                .filter(strings(backend, claim::Column::PayerClaimControlNumber, chunk))
                .into_tuple()
                .all(db)
                .await?;
            let paid: Vec<(Option<String>, Option<Uuid>)> = claim_payment::Entity::find()
                .select_only()
                .column(claim_payment::Column::PayerClaimControlNumber)
                .column(claim_payment::Column::ClaimId)
                .filter(strings(backend, claim_payment::Column::PayerClaimControlNumber, chunk))
                .filter(claim_payment::Column::ClaimId.is_not_null())
                .into_tuple()
                .all(db)
                .await?;
            for (number, id) in citing.into_iter().map(|(n, id)| (n, Some(id))).chain(paid) {
                if let (Some(number), Some(id)) = (number, id) {
                    owners.entry(number).or_default().insert(id);
                }
            }
        }
        for r in rows.iter_mut().filter(|r| open(r)) {
            let Some(ids) = r.payer_claim_number.as_ref().and_then(|n| owners.get(n)) else { continue };
            match ids.len() {
                1 => {
                    r.claim_id = ids.iter().next().copied();
                    r.matched_by = Some("payer_claim_number".into());
                }
                _ => r.state = "ambiguous".into(),
            }
        }
    }

    // 3. The member id, with the date of service and the charge.
    let members = distinct(
        rows.iter()
            .filter(|r| open(r) && r.service_date.is_some() && r.charge_cents.is_some())
            .filter_map(|r| r.member_id.as_deref()),
    );
    if !members.is_empty() {
        let mut fitting: HashMap<(String, chrono::NaiveDate, i64), HashSet<Uuid>> = HashMap::new();
        for chunk in members.chunks(MAX_PARAMS) {
            let found: Vec<(Uuid, String, chrono::NaiveDate, i64, Option<Uuid>)> = claim::Entity::find()
                .select_only()
                .column(claim::Column::Id)
                .column(claim::Column::PatientMemberId)
                .column(claim::Column::ServiceDate)
                .column(claim::Column::TotalChargeCents)
                .column(claim::Column::ReplacesClaimId)
                .filter(strings(backend, claim::Column::PatientMemberId, chunk))
                .into_tuple()
                .all(db)
                .await?;
            let replaced: HashSet<Uuid> = found.iter().filter_map(|f| f.4).collect();
            for (id, member, date, charge, _) in found.into_iter().filter(|f| !replaced.contains(&f.0)) {
                fitting.entry((member, date, charge)).or_default().insert(id);
            }
        }
        for r in rows.iter_mut().filter(|r| open(r)) {
            let (Some(m), Some(d), Some(c)) = (r.member_id.clone(), r.service_date, r.charge_cents) else { continue };
            let Some(ids) = fitting.get(&(m, d, c)) else { continue };
            match ids.len() {
                1 => {
                    r.claim_id = ids.iter().next().copied();
                    r.matched_by = Some("member_and_service".into());
                }
                _ => r.state = "ambiguous".into(),
            }
        }
    }
    for r in rows.iter_mut() {
        if r.claim_id.is_some() {
            r.state = "applied".into();
        } else if r.state != "ambiguous" {
            r.state = "waiting".into();
        }
    }
    Ok(())
}
