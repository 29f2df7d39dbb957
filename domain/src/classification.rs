//! Denial classification: which adjustments of a claim payment are denials, what kind, what to
//! do about each, by when, and how urgent it is. The rules are the contract's ("Denials");
//! the worker applies them to every claim payment of an ingested remittance.
//!
//! Rules key on (group, reason, remarks), never on the reason alone: CO-45 is a write-off,
//! while PR-96 is a non-covered service the patient may be billed for.

use chrono::NaiveDate;

use crate::code_sets::{self, CodeInfo};
use crate::settlement;

/// Remark MA130: "unprocessable, no appeal rights": the only way forward is a corrected claim.
pub const UNPROCESSABLE_REMARK: &str = "MA130";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Eligibility,
    Authorization,
    Coding,
    MedicalNecessity,
    TimelyFiling,
    Duplicate,
    Bundling,
    MissingInformation,
    CoordinationOfBenefits,
    NonCovered,
    ProviderEligibility,
    Other,
    /// Not a payer's denial: a claim the clearinghouse or payer returned at the front door
    /// (999, 277CA), never adjudicated. Its team comes from the status codes
    /// (`acknowledgments::work_queue`).
    Rejection,
}

impl Category {
    pub const ALL: [Category; 13] = [
        Self::Eligibility,
        Self::Authorization,
        Self::Coding,
        Self::MedicalNecessity,
        Self::TimelyFiling,
        Self::Duplicate,
        Self::Bundling,
        Self::MissingInformation,
        Self::CoordinationOfBenefits,
        Self::NonCovered,
        Self::ProviderEligibility,
        Self::Other,
        Self::Rejection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eligibility => "eligibility",
            Self::Authorization => "authorization",
            Self::Coding => "coding",
            Self::MedicalNecessity => "medical_necessity",
            Self::TimelyFiling => "timely_filing",
            Self::Duplicate => "duplicate",
            Self::Bundling => "bundling",
            Self::MissingInformation => "missing_information",
            Self::CoordinationOfBenefits => "coordination_of_benefits",
            Self::NonCovered => "non_covered",
            Self::ProviderEligibility => "provider_eligibility",
            Self::Other => "other",
            Self::Rejection => "rejection",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }

    /// The team that fixes denials of this kind.
    pub fn work_queue(self) -> WorkQueue {
        match self {
            // Medical coders own CPT/ICD-10/HCPCS and modifier errors.
            Self::Coding | Self::Bundling => WorkQueue::Coding,
            // The front desk and authorization staff.
            Self::Eligibility | Self::CoordinationOfBenefits | Self::Authorization => WorkQueue::Registration,
            // Documentation for a clinical appeal.
            Self::MedicalNecessity => WorkQueue::Clinical,
            _ => WorkQueue::Billing,
        }
    }

    /// Share of the denied amount a team can expect to recover by working the denial. The
    /// figures follow published experience (about two thirds of denials are recoverable;
    /// front-end and coding errors most, timely filing and duplicates least) and only rank
    /// the worklist: they are not a forecast.
    pub fn recoverability(self) -> f64 {
        match self {
            // A front-door rejection was never adjudicated: corrected, it is paid as any claim.
            Self::MissingInformation | Self::Coding | Self::Rejection => 0.9,
            Self::CoordinationOfBenefits => 0.85,
            Self::Eligibility => 0.8,
            Self::Bundling => 0.7,
            Self::Authorization => 0.6,
            Self::MedicalNecessity | Self::ProviderEligibility | Self::Other => 0.5,
            Self::NonCovered => 0.3,
            Self::TimelyFiling => 0.2,
            Self::Duplicate => 0.1,
        }
    }

    /// The contract's default action; `group` matters only for non-covered services, which
    /// the patient owes when the payer put them in group PR and the provider absorbs otherwise.
    pub fn default_action(self, group: &str) -> Action {
        match self {
            Self::Eligibility => Action::VerifyEligibility,
            Self::Authorization => Action::ObtainAuthorization,
            Self::Coding | Self::Bundling | Self::MissingInformation | Self::Rejection => Action::CorrectAndResubmit,
            Self::MedicalNecessity | Self::TimelyFiling => Action::Appeal,
            Self::CoordinationOfBenefits => Action::BillOtherPayer,
            Self::NonCovered if group == "PR" => Action::BillPatient,
            Self::NonCovered => Action::WriteOff,
            Self::Duplicate | Self::ProviderEligibility | Self::Other => Action::Review,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkQueue {
    Coding,
    Registration,
    Clinical,
    Billing,
}

impl WorkQueue {
    pub const ALL: [WorkQueue; 4] = [Self::Coding, Self::Registration, Self::Clinical, Self::Billing];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Coding => "coding",
            Self::Registration => "registration",
            Self::Clinical => "clinical",
            Self::Billing => "billing",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    CorrectAndResubmit,
    Appeal,
    VerifyEligibility,
    ObtainAuthorization,
    BillOtherPayer,
    BillPatient,
    WriteOff,
    Review,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Self::CorrectAndResubmit,
        Self::Appeal,
        Self::VerifyEligibility,
        Self::ObtainAuthorization,
        Self::BillOtherPayer,
        Self::BillPatient,
        Self::WriteOff,
        Self::Review,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CorrectAndResubmit => "correct_and_resubmit",
            Self::Appeal => "appeal",
            Self::VerifyEligibility => "verify_eligibility",
            Self::ObtainAuthorization => "obtain_authorization",
            Self::BillOtherPayer => "bill_other_payer",
            Self::BillPatient => "bill_patient",
            Self::WriteOff => "write_off",
            Self::Review => "review",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// How much of a category's recoverability this action keeps: a write-off recovers
    /// nothing from anyone, and a patient bill is collected less often than a payer's.
    fn recovery_factor(self) -> f64 {
        match self {
            Self::WriteOff => 0.2,
            Self::BillPatient => 0.6,
            _ => 1.0,
        }
    }
}

/// The category of a reason code: the catalog's when it names a denial category; a code the
/// catalog does not know is `other` (an unknown reason is a denial until someone decides
/// otherwise). `None` for the ordinary arithmetic of a paid claim.
pub fn reason_category(group: &str, reason: &str) -> Option<Category> {
    if !settlement::is_denial(group, reason) {
        return None;
    }
    match code_sets::carc(reason) {
        Some(CodeInfo { category: "payment_adjustment" | "patient_share", .. }) => None,
        Some(info) => Some(Category::parse(info.category).unwrap_or(Category::Other)),
        None => Some(Category::Other),
    }
}

/// One CAS triplet as the classifier sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentInput<'a> {
    pub group: &'a str,
    pub reason: &'a str,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput<'a> {
    pub procedure_code: &'a str,
    pub adjustments: Vec<AdjustmentInput<'a>>,
    pub remark_codes: Vec<&'a str>,
}

/// A claim payment (CLP loop) as the classifier sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInput<'a> {
    /// CLP02.
    pub status_code: &'a str,
    pub charge_cents: i64,
    pub paid_cents: i64,
    pub adjustments: Vec<AdjustmentInput<'a>>,
    /// MOA/MIA and claim-level LQ remark codes.
    pub remark_codes: Vec<&'a str>,
    pub lines: Vec<LineInput<'a>>,
}

/// Where a denial comes from inside its claim payment: the natural key that makes
/// classifying the same payment twice find the same denials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DenialSource {
    /// 0-based service line; `None` at claim level.
    pub line: Option<usize>,
    /// 0-based CAS triplet in its claim or line; `None` for the denial of a claim the payer
    /// denied (CLP02 = 4) without a recognised denial reason.
    pub adjustment: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenialDraft {
    pub source: DenialSource,
    pub procedure_code: Option<String>,
    pub group_code: Option<String>,
    pub reason_code: Option<String>,
    /// The remark codes that apply: the line's, then the claim's.
    pub remark_codes: Vec<String>,
    pub category: Category,
    pub action: Action,
    pub amount_cents: i64,
}

/// Every denial in one claim payment. Reversals (CLP02 = 22) carry the negated adjustments of
/// the payment they take back, so they deny nothing; nor does a negative adjustment, which
/// gives money back.
pub fn classify_payment(payment: &PaymentInput<'_>) -> Vec<DenialDraft> {
    let mut out = Vec::new();
    if payment.status_code == settlement::REVERSAL {
        return out;
    }
    // Each remark once, in first-seen order: a payer repeating one says nothing more.
    let distinct = |codes: &[&str]| {
        let mut out: Vec<String> = Vec::new();
        for code in codes {
            if !out.iter().any(|c| c == code) {
                out.push((*code).to_owned());
            }
        }
        out
    };
    let claim_remarks: Vec<String> = distinct(&payment.remark_codes);
    let mut push =
        |line: Option<usize>, procedure: Option<&str>, adjustments: &[AdjustmentInput<'_>], remarks: Vec<String>| {
            for (index, adj) in adjustments.iter().enumerate() {
                if adj.amount_cents <= 0 {
                    continue;
                }
                let Some(category) = reason_category(adj.group, adj.reason) else { continue };
                out.push(DenialDraft {
                    source: DenialSource { line, adjustment: Some(index) },
                    procedure_code: procedure.map(str::to_owned),
                    group_code: Some(adj.group.to_owned()),
                    reason_code: Some(adj.reason.to_owned()),
                    action: action_for(category, adj.group, &remarks),
                    remark_codes: remarks.clone(),
                    category,
                    amount_cents: adj.amount_cents,
                });
            }
        };
    push(None, None, &payment.adjustments, claim_remarks.clone());
    for (index, line) in payment.lines.iter().enumerate() {
        let mut remarks: Vec<String> = distinct(&line.remark_codes);
        for r in &claim_remarks {
            if !remarks.contains(r) {
                remarks.push(r.clone());
            }
        }
        push(Some(index), Some(line.procedure_code), &line.adjustments, remarks);
    }
    if out.is_empty() && payment.status_code == settlement::DENIED {
        let category = Category::Other;
        out.push(DenialDraft {
            source: DenialSource { line: None, adjustment: None },
            procedure_code: None,
            group_code: None,
            reason_code: None,
            action: action_for(category, "", &claim_remarks),
            remark_codes: claim_remarks,
            category,
            amount_cents: (payment.charge_cents - payment.paid_cents).max(0),
        });
    }
    out
}

fn action_for(category: Category, group: &str, remarks: &[String]) -> Action {
    if remarks.iter().any(|r| r == UNPROCESSABLE_REMARK) {
        Action::CorrectAndResubmit
    } else {
        category.default_action(group)
    }
}

/// A payer's deadlines, in calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayerRules {
    pub appeal_window_days: u16,
    pub timely_filing_days: u16,
    pub status_check_after_days: u16,
}

impl Default for PayerRules {
    fn default() -> Self {
        Self { appeal_window_days: 180, timely_filing_days: 365, status_check_after_days: 30 }
    }
}

impl PayerRules {
    /// The longest window accepted: ten years is already beyond any payer's.
    pub const MAX_DAYS: u16 = 3650;

    /// The 835's production date (DTM*405, else BPR16) plus the appeal window.
    pub fn appeal_deadline(&self, production_date: NaiveDate) -> NaiveDate {
        production_date + chrono::Days::new(u64::from(self.appeal_window_days))
    }
}

/// The worklist's priority (higher first):
///
/// `round(100 × log10(1 + expected) × urgency)`, where `expected` is the denied amount in
/// dollars × the category's recoverability × the action's factor (1, 0.6 to bill the patient,
/// 0.2 to write off), and `urgency` grows from 1 (a whole window left) to 3 (deadline today)
/// as `1 + 2 × (1 − days_left / window)`; past the deadline it drops to 0.25, since only a
/// review or write-off is left. Without a deadline `urgency` is 1.
///
/// The logarithm keeps one large claim from burying many mid-sized ones: $100 scores about
/// 1.7 times less than $10,000, not a hundred times less.
pub fn priority(
    amount_cents: i64,
    category: Category,
    action: Action,
    days_left: Option<i64>,
    window_days: u16,
) -> i32 {
    let dollars = (amount_cents.max(0) as f64) / 100.0;
    let expected = dollars * category.recoverability() * action.recovery_factor();
    let urgency = match days_left {
        None => 1.0,
        Some(d) if d < 0 => 0.25,
        Some(d) => {
            let window = f64::from(window_days.max(1));
            1.0 + 2.0 * (1.0 - (d as f64).min(window) / window)
        }
    };
    (100.0 * (1.0 + expected).log10() * urgency).round() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adj<'a>(group: &'a str, reason: &'a str, amount_cents: i64) -> AdjustmentInput<'a> {
        AdjustmentInput { group, reason, amount_cents }
    }

    fn payment<'a>(
        status: &'a str,
        adjustments: Vec<AdjustmentInput<'a>>,
        lines: Vec<LineInput<'a>>,
    ) -> PaymentInput<'a> {
        PaymentInput {
            status_code: status,
            charge_cents: 50_000,
            paid_cents: 0,
            adjustments,
            remark_codes: vec![],
            lines,
        }
    }

    #[test]
    fn the_contract_categories_hold() {
        let table: [(&[&str], Category); 11] = [
            (&["26", "27", "31", "33", "140", "177"], Category::Eligibility),
            (&["15", "39", "62", "197", "198", "288"], Category::Authorization),
            (&["4", "5", "6", "7", "9", "10", "11", "146", "181", "182", "199"], Category::Coding),
            (&["50", "55", "56", "150", "151", "152", "167"], Category::MedicalNecessity),
            (&["29"], Category::TimelyFiling),
            (&["18"], Category::Duplicate),
            (&["97", "234", "236"], Category::Bundling),
            (&["16", "125", "226", "250", "251", "252"], Category::MissingInformation),
            (&["19", "20", "21", "22", "109"], Category::CoordinationOfBenefits),
            (&["35", "49", "96", "119", "149", "204"], Category::NonCovered),
            (&["52", "185", "242", "B7"], Category::ProviderEligibility),
        ];
        for (reasons, category) in table {
            for reason in reasons {
                assert_eq!(reason_category("CO", reason), Some(category), "CO-{reason}");
            }
        }
        assert_eq!(reason_category("CO", "999"), Some(Category::Other), "an unknown code is a denial");
    }

    #[test]
    fn ordinary_adjustments_are_not_denials() {
        for (group, reason) in [
            ("CO", "45"),
            ("CO", "253"),
            ("PR", "1"),
            ("PR", "2"),
            ("PR", "3"),
            ("OA", "23"),
            ("CO", "24"),
            ("PI", "24"),
        ] {
            assert_eq!(reason_category(group, reason), None, "{group}-{reason}");
        }
    }

    #[test]
    fn non_covered_is_billed_to_the_patient_only_in_group_pr() {
        let p = payment("1", vec![adj("PR", "96", 1000), adj("CO", "96", 2000)], vec![]);
        let actions: Vec<Action> = classify_payment(&p).iter().map(|d| d.action).collect();
        assert_eq!(actions, [Action::BillPatient, Action::WriteOff]);
    }

    #[test]
    fn ma130_always_means_correct_and_resubmit() {
        let mut p = payment("4", vec![adj("CO", "50", 1000)], vec![]);
        assert_eq!(classify_payment(&p)[0].action, Action::Appeal);
        p.remark_codes = vec!["N130", "MA130"];
        let d = &classify_payment(&p)[0];
        assert_eq!((d.category, d.action), (Category::MedicalNecessity, Action::CorrectAndResubmit));
        assert_eq!(d.remark_codes, ["N130", "MA130"]);
    }

    #[test]
    fn a_denied_claim_without_a_denial_reason_gets_one_denial_of_category_other() {
        let p = payment("4", vec![adj("CO", "45", 50_000)], vec![]);
        let denials = classify_payment(&p);
        assert_eq!(denials.len(), 1);
        let d = &denials[0];
        assert_eq!((d.category, d.action, d.amount_cents), (Category::Other, Action::Review, 50_000));
        assert_eq!(d.source, DenialSource { line: None, adjustment: None });
        assert_eq!(d.reason_code, None);
        // A processed claim with only ordinary adjustments denies nothing.
        assert!(classify_payment(&payment("1", vec![adj("CO", "45", 50_000)], vec![])).is_empty());
    }

    #[test]
    fn repeated_remarks_are_listed_once() {
        let mut p = payment("4", vec![adj("CO", "50", 1000)], vec![]);
        p.remark_codes = vec!["N130", "N130", "MA130", "N130"];
        assert_eq!(classify_payment(&p)[0].remark_codes, ["N130", "MA130"]);
    }

    #[test]
    fn a_paid_claim_can_carry_denied_lines_with_their_own_and_the_claims_remarks() {
        let mut p = payment(
            "1",
            vec![],
            vec![
                LineInput { procedure_code: "99213", adjustments: vec![adj("CO", "45", 500)], remark_codes: vec![] },
                LineInput {
                    procedure_code: "97110",
                    adjustments: vec![adj("CO", "45", 100), adj("CO", "16", 2500)],
                    remark_codes: vec!["M51"],
                },
            ],
        );
        p.remark_codes = vec!["MA01"];
        let denials = classify_payment(&p);
        assert_eq!(denials.len(), 1);
        let d = &denials[0];
        assert_eq!(d.source, DenialSource { line: Some(1), adjustment: Some(1) });
        assert_eq!(d.procedure_code.as_deref(), Some("97110"));
        assert_eq!((d.category, d.action), (Category::MissingInformation, Action::CorrectAndResubmit));
        assert_eq!(d.remark_codes, ["M51", "MA01"]);
        assert_eq!(d.category.work_queue(), WorkQueue::Billing);
    }

    #[test]
    fn reversals_and_negative_adjustments_deny_nothing() {
        assert!(classify_payment(&payment("22", vec![adj("CO", "50", 1000)], vec![])).is_empty());
        assert!(
            classify_payment(&payment("4", vec![adj("CO", "50", -1000)], vec![])).len() == 1,
            "the CLP02=4 fallback"
        );
        assert!(classify_payment(&payment("1", vec![adj("CO", "50", -1000)], vec![])).is_empty());
    }

    #[test]
    fn work_queues_follow_the_contract() {
        let expect = [
            (Category::Coding, WorkQueue::Coding),
            (Category::Bundling, WorkQueue::Coding),
            (Category::Eligibility, WorkQueue::Registration),
            (Category::CoordinationOfBenefits, WorkQueue::Registration),
            (Category::Authorization, WorkQueue::Registration),
            (Category::MedicalNecessity, WorkQueue::Clinical),
            (Category::TimelyFiling, WorkQueue::Billing),
            (Category::Other, WorkQueue::Billing),
        ];
        for (category, queue) in expect {
            assert_eq!(category.work_queue(), queue, "{category:?}");
        }
    }

    #[test]
    fn appeal_deadline_counts_calendar_days() {
        let rules = PayerRules { appeal_window_days: 90, ..PayerRules::default() };
        let produced = NaiveDate::from_ymd_opt(2026, 12, 15).unwrap();
        assert_eq!(rules.appeal_deadline(produced), NaiveDate::from_ymd_opt(2027, 3, 15).unwrap());
        assert_eq!(PayerRules::default().appeal_deadline(produced), NaiveDate::from_ymd_opt(2027, 6, 13).unwrap());
    }

    #[test]
    fn priority_rises_with_amount_recoverability_and_a_nearing_deadline() {
        let p = |cents, category, days| priority(cents, category, category.default_action("CO"), days, 180);
        assert!(p(100_000, Category::Coding, Some(90)) > p(10_000, Category::Coding, Some(90)));
        assert!(p(100_000, Category::Coding, Some(90)) > p(100_000, Category::Duplicate, Some(90)));
        assert!(p(100_000, Category::Coding, Some(5)) > p(100_000, Category::Coding, Some(150)));
        assert!(p(100_000, Category::Coding, Some(-1)) < p(100_000, Category::Coding, Some(180)));
        // $1,000 of coding errors with the whole window left: 100 × log10(1 + 900) × 1.
        assert_eq!(p(100_000, Category::Coding, Some(180)), 295);
        assert_eq!(p(100_000, Category::Coding, Some(0)), 886);
        assert_eq!(p(0, Category::Coding, Some(0)), 0);
        assert_eq!(priority(100_000, Category::NonCovered, Action::WriteOff, None, 180), 179);
    }
}
