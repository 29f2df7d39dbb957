//! Pure billing logic for Overturn: no I/O, no framework types.
//!
//! Every value that crosses the API boundary is parsed into one of the newtypes here,
//! so the rest of the service can trust it ("parse, don't validate").

pub mod acknowledgments;
pub mod api_key;
pub mod audit;
pub mod claim;
pub mod classification;
pub mod code_sets;
pub mod codes;
pub mod dates;
pub mod denial_workflow;
pub mod followups;
pub mod hex;
pub mod identifiers;
pub mod money;
pub mod npi;
pub mod scrub;
pub mod secret_box;
pub mod settlement;
pub mod webhook_address;
pub mod webhook_signature;
pub mod webhooks;
pub mod x12;

pub use api_key::{ApiKeySecret, Role};
pub use claim::{ClaimDraft, ClaimLineDraft, ClaimStatus, FieldError, FrequencyCode};
pub use codes::{DiagnosisCode, Modifier, ProcedureCode};
pub use identifiers::{ClaimNumber, LineControlNumber, MemberId, PartyName, PayerId, PersonName, TraceNumber};
pub use money::Money;
pub use npi::Npi;
