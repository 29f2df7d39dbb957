//! sea-orm models, one module per table. Behaviour lives elsewhere (`domain`, `service`).
//!
//! Money columns are integer cents (`*_cents`): exact on SQLite and PostgreSQL alike. Status
//! columns are the domain's enums, stored by name (`stored`).

pub mod acknowledgment;
pub mod acknowledgment_body;
pub mod acknowledgment_claim;
pub mod api_key;
pub mod audit_checkpoint;
pub mod audit_event;
pub mod audit_event_member;
pub mod audit_pending;
pub mod claim;
pub mod claim_detail;
pub mod claim_file;
pub mod claim_file_body;
pub mod claim_file_set;
pub mod claim_line;
pub mod claim_payment;
pub mod code_description;
pub mod code_set;
pub mod contact;
pub mod denial;
pub mod denial_event;
pub mod failed_job;
pub mod follow_up;
pub mod icd10cm_code;
pub mod idempotency_key;
pub mod outbox;
pub mod patient_session;
pub mod payer_rule;
pub mod remittance;
pub mod remittance_file;
pub mod remittance_trace;
pub mod remittance_transaction;
pub mod stored;
pub mod unmatched_line_ref;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_event;
