//! Generates valid, balanced 835 files of any size, for tests and benchmarks.
//!
//! Deterministic for a seed, so a failing case can be replayed. The output exercises the
//! shapes real payers send: paid, partially paid and denied claims, claim- and line-level
//! adjustments, remark codes, line control numbers, reversals and provider adjustments.

use std::fmt::Write;

/// How to write the file.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    pub seed: u64,
    pub claims: usize,
    /// Element, component, repetition and segment delimiters.
    pub element: char,
    pub component: char,
    pub repetition: char,
    pub segment: char,
    /// A line break after each segment terminator.
    pub newlines: bool,
    /// The production date (DTM*405, BPR16), which starts the appeal windows.
    pub production_date: chrono::NaiveDate,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            claims: 10,
            element: '*',
            component: ':',
            repetition: '^',
            segment: '~',
            newlines: true,
            production_date: chrono::NaiveDate::from_ymd_opt(2025, 1, 15).unwrap_or_default(),
        }
    }
}

/// What the generated file should parse to, to check a parser against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedTotals {
    pub claims: usize,
    pub payment_cents: i64,
    pub paid_cents: i64,
    pub adjustment_cents: i64,
    pub provider_adjustment_cents: i64,
}

/// splitmix64: the generators' and benchmarks' deterministic numbers, so a run can be repeated.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    // Payers write amounts without trailing zeros as often as with them.
    match abs % 100 {
        0 => format!("{sign}{}", abs / 100),
        c if c % 10 == 0 => format!("{sign}{}.{}", abs / 100, c / 10),
        c => format!("{sign}{}.{c:02}", abs / 100),
    }
}

const DENIAL_REASONS: [&str; 10] = ["197", "16", "29", "50", "97", "18", "31", "4", "96", "B7"];
const PROCEDURES: [&str; 8] = ["99213", "99214", "36415", "93000", "97110", "J1885", "73721", "90471"];

/// An interchange with one functional group and one 835 transaction of `claims` claims.
pub fn generate_835(options: &GeneratorOptions) -> (String, GeneratedTotals) {
    let GeneratorOptions { element: e, component: c, segment: s, .. } = *options;
    let mut rng = Rng(options.seed);
    let end = if options.newlines { format!("{s}\n") } else { s.to_string() };
    let seg = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push_str(&end);
    };
    let mut claim_segments = 0usize;

    let mut claims_text = String::with_capacity(options.claims * 360);
    let mut paid_total: i64 = 0;
    let mut adjustment_total: i64 = 0;
    for i in 0..options.claims {
        let lines = 1 + rng.below(3) as usize;
        let denied = rng.below(8) == 0;
        let reversal = !denied && rng.below(50) == 0;
        let sign = if reversal { -1 } else { 1 };
        let mut claim_charge = 0;
        let mut claim_paid = 0;
        let mut claim_pr = 0;
        let mut line_text = String::new();
        let mut line_segments = 0;
        for l in 0..lines {
            let charge = (1_000 + rng.below(250_000) as i64) * sign;
            let (paid, mut adjustments) = if denied {
                let reason = DENIAL_REASONS[rng.below(DENIAL_REASONS.len() as u64) as usize];
                (0, vec![("CO", reason.to_owned(), charge)])
            } else {
                let contractual = charge * (rng.below(40) as i64) / 100;
                let patient = (charge - contractual) * (rng.below(30) as i64) / 100;
                let mut adj = vec![("CO", "45".to_owned(), contractual)];
                if patient != 0 {
                    adj.push(("PR", ["1", "2", "3"][rng.below(3) as usize].to_owned(), patient));
                    claim_pr += patient;
                }
                (charge - contractual - patient, adj)
            };
            adjustments.retain(|(_, _, cents)| *cents != 0);
            claim_charge += charge;
            claim_paid += paid;
            let code = PROCEDURES[rng.below(PROCEDURES.len() as u64) as usize];
            let modifier = if rng.below(3) == 0 { format!("{c}25") } else { String::new() };
            let _ =
                write!(line_text, "SVC{e}HC{c}{code}{modifier}{e}{}{e}{}{e}{e}1{end}", amount(charge), amount(paid));
            let _ = write!(line_text, "DTM{e}472{e}20241202{end}");
            line_segments += 2;
            for (group, reason, cents) in &adjustments {
                let _ = write!(line_text, "CAS{e}{group}{e}{reason}{e}{}{end}", amount(*cents));
                line_segments += 1;
                adjustment_total += cents;
            }
            let _ = write!(line_text, "REF{e}6R{e}L{}-{i}-{l}{end}", options.seed);
            line_segments += 1;
            if denied {
                let _ = write!(line_text, "LQ{e}HE{e}N54{end}");
                line_segments += 1;
            }
        }
        let status = if reversal {
            "22"
        } else if denied {
            "4"
        } else {
            "1"
        };
        let _ = write!(
            claims_text,
            "LX{e}{}{end}CLP{e}GEN-{}-{i}{e}{status}{e}{}{e}{}{e}{}{e}12{e}PCN{}-{i}{e}11{e}1{end}NM1{e}QC{e}1{e}DOE{e}PAT{i}{e}{e}{e}{e}MI{e}M{i}{end}",
            i + 1,
            options.seed,
            amount(claim_charge),
            amount(claim_paid),
            amount(claim_pr),
            options.seed,
        );
        claims_text.push_str(&line_text);
        claim_segments += 3 + line_segments;
        paid_total += claim_paid;
    }
    let provider_adjustment = if options.claims > 0 { rng.below(5_000) as i64 } else { 0 };
    let payment = paid_total - provider_adjustment;
    let (credit_debit, bpr_amount) = if payment < 0 { ("D", -payment) } else { ("C", payment) };

    let mut out = String::with_capacity(claims_text.len() + 2048);
    let isa = format!(
        "ISA{e}00{e}          {e}00{e}          {e}ZZ{e}GENPAYER       {e}ZZ{e}GENCLINIC      {e}250115{e}1200{e}{}{e}00501{e}{:09}{e}0{e}P{e}{c}",
        options.repetition,
        options.seed % 1_000_000_000
    );
    seg(&mut out, isa);
    seg(&mut out, format!("GS{e}HP{e}GENPAYER{e}GENCLINIC{e}20250115{e}1200{e}1{e}X{e}005010X221A1"));
    seg(&mut out, format!("ST{e}835{e}0001"));
    let produced = options.production_date.format("%Y%m%d");
    seg(
        &mut out,
        format!(
            "BPR{e}I{e}{}{e}{credit_debit}{e}ACH{e}CCP{e}01{e}011000015{e}DA{e}1234567{e}1512345678{e}{e}01{e}021000021{e}DA{e}7654321{e}{produced}",
            amount(bpr_amount)
        ),
    );
    seg(&mut out, format!("TRN{e}1{e}GEN{}{e}1512345678", options.seed));
    seg(&mut out, format!("DTM{e}405{e}{produced}"));
    seg(&mut out, format!("N1{e}PR{e}GENERATED PAYER{e}XV{e}GEN01"));
    // The payer's address is required by the implementation guide (pyx12 checks it).
    seg(&mut out, format!("N3{e}PO BOX 1000"));
    seg(&mut out, format!("N4{e}HARTFORD{e}CT{e}06101"));
    seg(&mut out, format!("PER{e}BL{e}PROVIDER SERVICES{e}TE{e}8005551212"));
    seg(&mut out, format!("N1{e}PE{e}GENERATED CLINIC{e}XX{e}1234567893"));
    out.push_str(&claims_text);
    if provider_adjustment != 0 {
        seg(&mut out, format!("PLB{e}1234567893{e}20251231{e}WO{c}GEN{e}{}", amount(provider_adjustment)));
    }
    // ST, BPR, TRN, DTM, N1, N3, N4, PER, N1, the claims, PLB if any, and SE itself.
    let count = 9 + claim_segments + usize::from(provider_adjustment != 0) + 1;
    seg(&mut out, format!("SE{e}{count}{e}0001"));
    seg(&mut out, format!("GE{e}1{e}1"));
    seg(&mut out, format!("IEA{e}1{e}{:09}", options.seed % 1_000_000_000));
    let totals = GeneratedTotals {
        claims: options.claims,
        payment_cents: payment,
        paid_cents: paid_total,
        adjustment_cents: adjustment_total,
        provider_adjustment_cents: provider_adjustment,
    };
    (out, totals)
}
