//! What the end-to-end tests (`tests/api/`) and the benchmark tools (`src/bin/`) share.

use chrono::{DateTime, Utc};
use overturn_entity::{claim, follow_up};

/// `count` status checks of payer `payer`, all falling due at `due`, as claims submitted
/// `status_check_after_days` (30) before it would schedule them.
pub fn crowd_of_follow_ups(count: usize, payer: &str, due: DateTime<Utc>) -> Vec<follow_up::Model> {
    let now = overturn_service::sql::now();
    (0..count)
        .filter_map(|i| {
            let claim = claim::Model {
                id: uuid::Uuid::now_v7(),
                claim_number: format!("CROWD-{i}"),
                payer_id: payer.to_owned(),
                payer_name: "CROWD PAYER".into(),
                patient_member_id: format!("M{i}"),
                patient_first_name: "A".into(),
                patient_last_name: "B".into(),
                patient_date_of_birth: chrono::NaiveDate::from_ymd_opt(1980, 1, 1)?,
                provider_npi: "1234567893".into(),
                provider_name: "P".into(),
                service_date: due.date_naive(),
                submitted_at: due - chrono::Duration::days(30),
                frequency_code: "1".into(),
                payer_claim_control_number: None,
                diagnosis_codes: serde_json::json!([]),
                total_charge_cents: 100,
                paid_amount_cents: 0,
                patient_responsibility_cents: 0,
                status: overturn_domain::ClaimStatus::Submitted.into(),
                created_at: now,
                updated_at: now,
                replaces_claim_id: None,
                revision: 0,
                accepted_at: None,
                payer_status: None,
                edits: None,
            };
            overturn_service::followups::for_claim(&claim, &Default::default(), now)
                .into_iter()
                .find(|f| f.kind == "status_check")
        })
        .collect()
}
