//! X12 005010X221A1 (835, health care claim payment/advice) parsing. No I/O: bytes in,
//! a typed remittance out, or an error naming the segment and element that are wrong.
//!
//! Strict where money or structure is at stake (envelopes, control numbers, segment counts,
//! balancing, numbers, dates); tolerant where payers are sloppy and nothing is ambiguous (a
//! missing payer PER, repeated payer or payee loops, claims outside an LX): those are accepted
//! and recorded as warnings.

pub mod ack;
pub mod ack999;
mod balance;
pub mod claim837;
mod elements;
mod envelope;
mod error;
pub mod generate;
pub mod generate837;
pub mod generate_ack;
pub mod inquiry276;
mod parse835;
pub use parse835::{MAX_ADJUSTMENTS, MAX_LINE_REMARKS, MAX_LINES};
mod remittance;
mod segments;
mod window;

pub use balance::check as check_balance;
pub use error::{EdiError, Fault, Warning};
pub use parse835::parse_835;
pub use remittance::{
    Adjustment, ClaimPayment, Party, Payment, Procedure, ProviderAdjustment, RemittanceFile, ServiceLine, Transaction,
    originator, payer_key,
};
pub use segments::{Delimiters, Segment};

#[cfg(test)]
mod tests;
