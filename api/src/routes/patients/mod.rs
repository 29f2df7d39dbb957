//! `/v1/patients/{member_id}/…` and `/v1/patient-sessions`: the routes that act for one
//! patient, the only ones a portal key or a patient session reaches.

pub mod claims;
pub mod contacts;
pub mod output;
pub mod sessions;
