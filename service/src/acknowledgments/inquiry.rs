//! The 276 a status check offers: the claim status inquiry for its claim, from the claim, its
//! 837 loops (subscriber, submitter, receiver) and the practice's configured submitter and
//! receiver. The same bytes on every fetch: its trace number is the follow-up's id, and its
//! control number and time come from the follow-up too. The 277 answering it comes back with
//! that trace and is matched to the claim by it.

use overturn_domain::followups::FollowUpKind;
use overturn_domain::x12::claim837::{Party, StoredClaim, Submitter, fields_of};
use overturn_domain::x12::inquiry276::{Inquiry, Person, write_276};
use overturn_entity::{claim, claim_detail, claim_payment, follow_up};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InquiryError {
    #[error("no follow-up with id {0}")]
    NotFound(Uuid),
    #[error("follow-up {0} is not a status check of a claim: only those ask the payer with a 276")]
    NotAStatusCheck(Uuid),
    #[error("the 276 needs {}: send the claim with its 837 fields, or configure OVERTURN_SUBMITTER_* and OVERTURN_RECEIVER_*", .0.join(" and "))]
    Missing(Vec<&'static str>),
}

/// The trace number (TRN02) of a follow-up's 276: its id, 32 hex digits.
pub fn trace_of(follow_up_id: Uuid) -> String {
    follow_up_id.simple().to_string()
}

/// The follow-up a 277's trace names, if it is one of ours.
pub fn follow_up_of_trace(trace: &str) -> Option<Uuid> {
    (trace.len() == 32).then(|| Uuid::try_parse(trace).ok()).flatten()
}

/// The 276 of the status check `id`.
pub async fn inquiry_276<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    default_submitter: Option<&Submitter>,
    default_receiver: Option<&Party>,
) -> Result<Result<String, InquiryError>, DbErr> {
    let Some(check) = follow_up::Entity::find_by_id(id).one(db).await? else {
        return Ok(Err(InquiryError::NotFound(id)));
    };
    let claim_id = match check.claim_id {
        Some(claim_id) if check.kind == FollowUpKind::StatusCheck.as_str() => claim_id,
        _ => return Ok(Err(InquiryError::NotAStatusCheck(id))),
    };
    let Some(c) = claim::Entity::find_by_id(claim_id).one(db).await? else {
        return Ok(Err(InquiryError::NotAStatusCheck(id)));
    };
    let fields = match claim_detail::Entity::find_by_id(claim_id).one(db).await? {
        Some(d) => serde_json::from_str::<StoredClaim>(&d.detail).ok().as_ref().and_then(fields_of),
        None => None,
    };
    let submitter = fields.as_ref().and_then(|f| f.submitter.clone()).or_else(|| default_submitter.cloned());
    let receiver = fields.as_ref().and_then(|f| f.receiver.clone()).or_else(|| default_receiver.cloned());
    let (submitter, receiver) = match (submitter, receiver) {
        (Some(s), Some(r)) => (s, r),
        (s, r) => {
            let mut missing = Vec::new();
            if s.is_none() {
                missing.push("a submitter");
            }
            if r.is_none() {
                missing.push("a receiver");
            }
            return Ok(Err(InquiryError::Missing(missing)));
        }
    };
    // The payer's number for the claim: the one it cites, else that of its latest payment.
    let payer_claim_number = match c.payer_claim_control_number.clone() {
        Some(n) => Some(n),
        None => claim_payment::Entity::find()
            .filter(claim_payment::Column::ClaimId.eq(claim_id))
            .filter(claim_payment::Column::PayerClaimControlNumber.is_not_null())
            .order_by_desc(claim_payment::Column::ReceivedAt)
            .one(db)
            .await?
            .and_then(|p| p.payer_claim_control_number),
    };
    // The claim's patient; when the 837 names a subscriber other than the patient, the 276
    // asks under that subscriber with the patient as a dependent.
    let patient = Person {
        last_name: c.patient_last_name.clone(),
        first_name: c.patient_first_name.clone(),
        birth_date: Some(c.patient_date_of_birth),
        gender: fields.as_ref().and_then(|f| f.patient_gender.clone()).unwrap_or_else(|| "U".into()),
    };
    let (subscriber, member_id, dependent) = match fields.as_ref().and_then(|f| f.subscriber.as_ref()) {
        Some(s) => (
            Person {
                last_name: s.last_name.clone(),
                first_name: s.first_name.clone().unwrap_or_default(),
                birth_date: s.date_of_birth,
                gender: s.gender.clone().unwrap_or_else(|| "U".into()),
            },
            s.member_id.clone().unwrap_or_else(|| c.patient_member_id.clone()),
            Some(patient),
        ),
        None => (patient, c.patient_member_id.clone(), None),
    };
    let lines = crate::claims::lines_of(db, &[claim_id]).await?.remove(&claim_id).unwrap_or_default();
    let to = lines.iter().map(|l| l.service_date).max().unwrap_or(c.service_date).max(c.service_date);
    let inquiry = Inquiry {
        trace: trace_of(id),
        sender: ("ZZ".into(), submitter.id.clone()),
        receiver: ("ZZ".into(), receiver.id.clone()),
        payer_name: c.payer_name.clone(),
        payer_id: c.payer_id.clone(),
        submitter_name: submitter.name.clone(),
        submitter_id: submitter.id.clone(),
        provider_name: c.provider_name.clone(),
        provider_npi: c.provider_npi.clone(),
        subscriber,
        member_id,
        dependent,
        claim_number: c.claim_number.clone(),
        payer_claim_number,
        charge: overturn_domain::Money::from_cents(c.total_charge_cents).unwrap_or(overturn_domain::Money::ZERO),
        service_from: c.service_date,
        service_to: to,
    };
    // One control number per follow-up, the same on every fetch.
    let control = (id.as_u128() % 999_999_999) as u32 + 1;
    let at = check.fired_at.unwrap_or(check.due_at);
    Ok(Ok(write_276(&inquiry, control, at)))
}
