//! What an acknowledgment's status codes mean for the work: which team fixes a rejected
//! claim, and how its explanation reads.

use crate::classification::WorkQueue;
use crate::code_sets::CodeList;
use crate::x12::ack::{AckOutcome, StatusCode};

/// Entities of an STC composite (STCxx-3) in words. Codes outside this list are quoted as
/// they are.
const ENTITIES: [(&str, &str); 21] = [
    ("03", "dependent"),
    ("1P", "provider"),
    ("40", "receiver"),
    ("41", "submitter"),
    ("71", "attending physician"),
    ("72", "operating physician"),
    ("73", "other physician"),
    ("77", "service location"),
    ("82", "rendering provider"),
    ("85", "billing provider"),
    ("87", "pay-to provider"),
    ("DK", "ordering physician"),
    ("DN", "referring provider"),
    ("DQ", "supervising physician"),
    ("FA", "facility"),
    ("GB", "other insured"),
    ("IL", "subscriber"),
    ("PR", "payer"),
    ("QC", "patient"),
    ("QD", "responsible party"),
    ("TT", "transfer-to entity"),
];

/// The entities whose data the front desk owns: the people insured.
const PATIENT_ENTITIES: [&str; 5] = ["03", "GB", "IL", "QC", "QD"];

pub fn entity_name(code: &str) -> Option<&'static str> {
    ENTITIES.iter().find(|(c, _)| *c == code).map(|(_, name)| *name)
}

/// The team a status sends its claim to: registration for the patient's and subscriber's
/// facts and eligibility, coding for codes, billing for the rest. A status about "the entity's"
/// data (a name, an id, an NPI) goes to registration when the entity is the patient or the
/// subscriber, and to billing when it is a provider, the submitter or the payer.
pub fn queue_of(status: &StatusCode<'_>) -> WorkQueue {
    match CodeList::Status.lookup(status.code).map(|c| c.category) {
        Some("registration") => WorkQueue::Registration,
        Some("coding") => WorkQueue::Coding,
        Some("entity") if status.entity.is_some_and(|e| PATIENT_ENTITIES.contains(&e)) => WorkQueue::Registration,
        // Codes not in the built-in list: the entity alone still says whose data it is.
        None if status.entity.is_some_and(|e| PATIENT_ENTITIES.contains(&e)) => WorkQueue::Registration,
        _ => WorkQueue::Billing,
    }
}

/// The team for a rejected claim: that of the first rejecting status that names one other
/// than billing, else billing.
pub fn work_queue(statuses: &[StatusCode<'_>]) -> WorkQueue {
    statuses
        .iter()
        .filter(|s| AckOutcome::of_category(s.category) == AckOutcome::Rejected)
        .map(queue_of)
        .find(|q| *q != WorkQueue::Billing)
        .unwrap_or(WorkQueue::Billing)
}

/// One status in words: `A7 (rejected for invalid information): 562 the entity's NPI
/// (billing provider)`. `describe` gives a code's words (imported or built in), if known.
pub fn status_in_words(status: &StatusCode<'_>, describe: &dyn Fn(CodeList, &str) -> Option<String>) -> String {
    let mut out = String::new();
    out.push_str(status.category);
    if let Some(text) = describe(CodeList::StatusCategory, status.category) {
        out.push_str(&format!(" ({text})"));
    }
    out.push_str(&format!(": {}", status.code));
    if let Some(text) = describe(CodeList::Status, status.code) {
        out.push_str(&format!(" {text}"));
    }
    if let Some(entity) = status.entity {
        match entity_name(entity) {
            Some(name) => out.push_str(&format!(" [{name}]")),
            None => out.push_str(&format!(" [entity {entity}]")),
        }
    }
    if status.line > 0 {
        out.push_str(&format!(" on service line {}", status.line));
    }
    out
}

/// A rejection's explanation: who said it, each status in words, and the sender's message.
pub fn explanation(
    source: &str,
    statuses: &[StatusCode<'_>],
    message: Option<&str>,
    describe: &dyn Fn(CodeList, &str) -> Option<String>,
) -> String {
    let mut out = format!("Returned by the {source} before adjudication");
    for (i, s) in statuses.iter().enumerate() {
        out.push_str(if i == 0 { ": " } else { "; " });
        out.push_str(&status_in_words(s, describe));
    }
    if let Some(m) = message.map(str::trim).filter(|m| !m.is_empty()) {
        out.push_str(&format!(". Message: \"{m}\""));
    }
    out.push('.');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status<'a>(category: &'a str, code: &'a str, entity: Option<&'a str>) -> StatusCode<'a> {
        StatusCode { category, code, entity, line: 0 }
    }

    #[test]
    fn the_team_follows_whose_data_is_wrong() {
        // The billing provider's NPI: billing. The subscriber's member number: registration.
        assert_eq!(work_queue(&[status("A7", "562", Some("85"))]), WorkQueue::Billing);
        assert_eq!(work_queue(&[status("A7", "164", Some("IL"))]), WorkQueue::Registration);
        assert_eq!(work_queue(&[status("A7", "562", Some("QC"))]), WorkQueue::Registration);
        // Subscriber not found, whoever is named.
        assert_eq!(work_queue(&[status("A3", "33", None)]), WorkQueue::Registration);
        // Codes: a procedure code, a diagnosis code.
        assert_eq!(work_queue(&[status("A7", "454", None)]), WorkQueue::Coding);
        assert_eq!(work_queue(&[status("A7", "255", None)]), WorkQueue::Coding);
        // The first specific team among the rejecting statuses wins; accepting ones do not count.
        let mixed = [status("A1", "255", None), status("A7", "562", Some("85")), status("A7", "33", Some("IL"))];
        assert_eq!(work_queue(&mixed), WorkQueue::Registration);
        // An unknown code about the patient still goes to registration; otherwise billing.
        assert_eq!(work_queue(&[status("A7", "9999", Some("IL"))]), WorkQueue::Registration);
        assert_eq!(work_queue(&[status("A7", "9999", Some("85"))]), WorkQueue::Billing);
        assert_eq!(work_queue(&[]), WorkQueue::Billing);
    }

    #[test]
    fn an_explanation_quotes_each_code_in_words() {
        let describe = |list: CodeList, code: &str| list.lookup(code).map(|c| c.description.to_lowercase());
        let statuses = [status("A7", "562", Some("85")), StatusCode { line: 2, ..status("A7", "454", None) }];
        let text = explanation("clearinghouse (277CA)", &statuses, Some(" NPI DOES NOT MATCH "), &describe);
        assert_eq!(
            text,
            "Returned by the clearinghouse (277CA) before adjudication: A7 (acknowledgment: rejected for invalid \
             information): 562 the entity's national provider identifier (npi) [billing provider]; A7 (acknowledgment: \
             rejected for invalid information): 454 the procedure code for the services rendered on service line 2. \
             Message: \"NPI DOES NOT MATCH\"."
        );
        // Unknown codes are quoted as they are.
        let text = explanation("payer", &[status("Z9", "9999", Some("ZZ"))], None, &describe);
        assert_eq!(text, "Returned by the payer before adjudication: Z9: 9999 [entity ZZ].");
    }
}
