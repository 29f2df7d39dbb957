//! How a claim looks in responses.

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::Money;
use overturn_entity::{claim, claim_line};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct Claim {
    pub id: Uuid,
    pub claim_number: String,
    /// `submitted`, `paid`, `partially_paid`, `denied`, `reversed`, or `rejected` (returned at
    /// the front door by a 999 or 277CA, never adjudicated).
    #[schema(example = "submitted")]
    pub status: String,
    /// When the payer (or its clearinghouse) acknowledged taking the claim into adjudication
    /// (277CA A1, A2, A5); the status check is timed from then.
    pub accepted_at: Option<DateTime<Utc>>,
    /// The payer's latest answer to a status inquiry (277).
    pub payer_status: Option<overturn_service::acknowledgments::PayerStatus>,
    pub payer: Payer,
    pub patient: Patient,
    pub provider: Provider,
    pub service_date: NaiveDate,
    pub submitted_at: DateTime<Utc>,
    pub frequency_code: String,
    pub payer_claim_control_number: Option<String>,
    /// The claim this one replaces or voids (a correction).
    pub replaces_claim_id: Option<Uuid>,
    pub diagnosis_codes: Vec<String>,
    pub lines: Vec<ClaimLine>,
    // The 837 fields (see `CreateClaimRequest`), shown when the claim has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitter: Option<SubmitterBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<ReceiverBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_to: Option<PayToBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<SubscriberBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place_of_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission: Option<AdmissionBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_period: Option<PeriodBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_authorization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub providers: Option<ProvidersBody>,
    /// The diagnoses with the qualifiers the claim's 837 gives them (shown when it has one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<DiagnosisShown>,
    /// `837P` or `837I`: the shape the claim is written in, when it has its 837 fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// What the claim lacks to be written as an 837 (`GET /v1/claims/{id}/837`), by field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<crate::error::ValidationError>)]
    pub missing_for_837: Vec<FieldError>,
    /// The scrubber's edits the claim was stored with: warnings, and errors a `?scrub=warn`
    /// request let through; empty for a clean claim.
    pub edits: Vec<super::ClaimEdit>,
    #[schema(value_type = String, example = "200.00")]
    pub total_charge: Money,
    #[schema(value_type = String, example = "0.00")]
    pub paid_amount: Money,
    #[schema(value_type = String, example = "0.00")]
    pub patient_responsibility: Money,
    /// The denials classified from its payments, oldest first: the first 100 (`denial_count`
    /// says how many there are; `GET /v1/denials?claim_id=` pages them all).
    pub denials: Vec<crate::routes::denials::DenialDetail>,
    pub denial_count: i64,
    /// Its follow-ups (status check, timely filing, and those of its denials), soonest due
    /// first: the first 100 (`GET /v1/follow-ups?claim_id=` pages them all).
    pub follow_ups: Vec<crate::routes::followups::FollowUp>,
    pub follow_up_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Most denials and follow-ups a claim embeds; the rest are paged from their own lists.
pub const EMBEDDED: u64 = 100;

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Payer {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsibility: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_filing_indicator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Patient {
    pub member_id: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Provider {
    pub npi: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxonomy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimLine {
    /// 1-based position on the claim.
    pub line_number: i32,
    pub procedure_code: String,
    pub modifiers: Vec<String>,
    /// Units of service as a decimal string ("1", "1.5").
    pub units: String,
    #[schema(value_type = String, example = "180.00")]
    pub charge: Money,
    pub service_date: NaiveDate,
    /// REF*6R, when the line was sent with one.
    pub line_control_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place_of_service: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnosis_pointers: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ndc: Option<NdcBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimList {
    pub items: Vec<Claim>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

use super::fields::{
    AddressBody, AdmissionBody, DiagnosisShown, NdcBody, PeriodBody, ProviderRefBody, ProvidersBody, ReceiverBody,
    SubmitterBody, SubscriberBody,
};
use super::input::PayToBody;
use crate::routes::stored_money as money;
use overturn_domain::DiagnosisCode;
use overturn_domain::FieldError;
use overturn_domain::x12::claim837::{Address, ClaimFields, StoredClaim, fields_of};

fn strings(json: &serde_json::Value) -> Vec<String> {
    json.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

impl Claim {
    pub fn from_rows(row: claim::Model, lines: Vec<claim_line::Model>) -> Self {
        Self {
            id: row.id,
            claim_number: row.claim_number,
            status: row.status.as_str().to_owned(),
            accepted_at: row.accepted_at,
            payer_status: row.payer_status.as_deref().and_then(|s| serde_json::from_str(s).ok()),
            edits: row
                .edits
                .as_deref()
                .and_then(|s| serde_json::from_str::<Vec<overturn_domain::scrub::Edit>>(s).ok())
                .unwrap_or_default()
                .into_iter()
                .map(super::ClaimEdit::from)
                .collect(),
            payer: Payer {
                id: row.payer_id,
                name: row.payer_name,
                responsibility: None,
                claim_filing_indicator: None,
                group_number: None,
                group_name: None,
            },
            patient: Patient {
                member_id: row.patient_member_id,
                first_name: row.patient_first_name,
                last_name: row.patient_last_name,
                date_of_birth: row.patient_date_of_birth,
                gender: None,
                address: None,
                relationship: None,
            },
            provider: Provider {
                npi: row.provider_npi,
                name: row.provider_name,
                tax_id: None,
                taxonomy: None,
                address: None,
            },
            service_date: row.service_date,
            submitted_at: row.submitted_at,
            frequency_code: row.frequency_code,
            payer_claim_control_number: row.payer_claim_control_number,
            replaces_claim_id: row.replaces_claim_id,
            diagnosis_codes: strings(&row.diagnosis_codes),
            lines: lines
                .into_iter()
                .map(|l| ClaimLine {
                    line_number: l.line_number,
                    procedure_code: l.procedure_code,
                    modifiers: strings(&l.modifiers),
                    units: l.units,
                    charge: money(l.charge_cents),
                    service_date: l.service_date,
                    line_control_number: l.line_control_number,
                    place_of_service: None,
                    diagnosis_pointers: Vec::new(),
                    revenue_code: None,
                    ndc: None,
                })
                .collect(),
            submitter: None,
            receiver: None,
            pay_to: None,
            subscriber: None,
            place_of_service: None,
            facility_type: None,
            admission: None,
            statement_period: None,
            prior_authorization: None,
            referral_number: None,
            providers: None,
            diagnoses: Vec::new(),
            format: None,
            missing_for_837: Vec::new(),
            total_charge: money(row.total_charge_cents),
            paid_amount: money(row.paid_amount_cents),
            patient_responsibility: money(row.patient_responsibility_cents),
            denials: Vec::new(),
            denial_count: 0,
            follow_ups: Vec::new(),
            follow_up_count: 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl Claim {
    /// Adds the fields of the claim's 837 loops.
    pub fn with_detail(mut self, stored: Option<&StoredClaim>) -> Self {
        let Some(stored) = stored else { return self };
        let Some(f) = fields_of(stored) else { return self };
        let shown = show(&f);
        self.format = Some(stored.format.clone());
        self.missing_for_837 = stored.lacking.clone();
        self.submitter = shown.submitter;
        self.receiver = shown.receiver;
        self.pay_to = shown.pay_to.map(|address| PayToBody { address });
        self.subscriber = shown.subscriber;
        self.providers = shown.providers;
        self.admission = shown.admission;
        self.statement_period = shown.statement_period;
        self.diagnoses = shown.diagnoses;
        self.place_of_service = f.place_of_service;
        self.facility_type = f.facility_type;
        self.prior_authorization = f.prior_authorization;
        self.referral_number = f.referral_number;
        self.payer.responsibility = f.payer_responsibility;
        self.payer.claim_filing_indicator = f.claim_filing_indicator;
        self.payer.group_number = f.group_number;
        self.payer.group_name = f.group_name;
        self.patient.gender = f.patient_gender;
        self.patient.address = f.patient_address.as_ref().map(address_shown);
        self.patient.relationship = f.relationship;
        self.provider.tax_id = f.provider_tax_id;
        self.provider.taxonomy = f.provider_taxonomy;
        self.provider.address = f.provider_address.as_ref().map(address_shown);
        for (line, extra) in self.lines.iter_mut().zip(f.lines) {
            line.place_of_service = extra.place_of_service;
            line.diagnosis_pointers = extra.diagnosis_pointers;
            line.revenue_code = extra.revenue_code;
            line.ndc = extra.ndc.map(|n| NdcBody { code: n.code, quantity: n.quantity, unit: n.unit });
        }
        self
    }
}

/// The fields as a claim shows them.
struct Shown {
    submitter: Option<SubmitterBody>,
    receiver: Option<ReceiverBody>,
    pay_to: Option<AddressBody>,
    pub subscriber: Option<SubscriberBody>,
    pub providers: Option<ProvidersBody>,
    pub admission: Option<AdmissionBody>,
    pub statement_period: Option<PeriodBody>,
    pub diagnoses: Vec<DiagnosisShown>,
}

fn address_shown(a: &Address) -> AddressBody {
    AddressBody {
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        postal_code: a.postal_code.clone(),
    }
}

fn show(f: &ClaimFields) -> Shown {
    let mut providers = ProvidersBody::default();
    for (role, p) in &f.providers {
        *providers.slot(*role) = Some(ProviderRefBody {
            npi: p.npi.clone(),
            name: p.name.clone(),
            first_name: p.first_name.clone(),
            taxonomy: p.taxonomy.clone(),
            address: p.address.as_ref().map(address_shown),
        });
    }
    let admitting = f.diagnoses.iter().find(|d| matches!(d.qualifier.as_str(), "ABJ" | "BJ"));
    Shown {
        submitter: f.submitter.as_ref().map(|s| SubmitterBody {
            name: s.name.clone(),
            id: s.id.clone(),
            contact_name: s.contact_name.clone(),
            phone: s.phone.clone(),
            email: s.email.clone(),
        }),
        receiver: f.receiver.as_ref().map(|r| ReceiverBody { name: r.name.clone(), id: r.id.clone() }),
        pay_to: f.pay_to_address.as_ref().map(address_shown),
        subscriber: f.subscriber.as_ref().map(|s| SubscriberBody {
            member_id: s.member_id.clone(),
            first_name: s.first_name.clone(),
            last_name: s.last_name.clone(),
            date_of_birth: s.date_of_birth.map(|d| d.to_string()),
            gender: s.gender.clone(),
            address: s.address.as_ref().map(address_shown),
        }),
        providers: (!f.providers.is_empty()).then_some(providers),
        admission: f.admission.as_ref().map(|a| AdmissionBody {
            date: a.date.map(|d| d.to_string()),
            hour: a.hour.clone(),
            type_code: a.type_code.clone(),
            source_code: a.source_code.clone(),
            patient_status: a.patient_status.clone(),
            diagnosis_code: admitting.map(|d| dotted(&d.code)),
        }),
        statement_period: f
            .statement_period
            .map(|(from, to)| PeriodBody { from: from.to_string(), to: to.to_string() }),
        diagnoses: f
            .diagnoses
            .iter()
            .map(|d| DiagnosisShown { code: d.code.clone(), qualifier: d.qualifier.clone() })
            .collect(),
    }
}

/// An ICD-10-CM code as the API shows codes (dotted); others as they are.
fn dotted(code: &str) -> String {
    DiagnosisCode::parse(code).map(|c| c.as_str().to_owned()).unwrap_or_else(|_| code.to_owned())
}
