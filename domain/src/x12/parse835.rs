//! The 835 state machine: envelopes, loops, and the typed model.

use chrono::NaiveDate;

use super::balance;
use super::elements::{amount, cas, claim_payment, date, decimal, optional_date, plb, service_line};
use super::envelope::{Cursor, GroupKind, check_trailer, read_interchanges};
use super::error::{EdiError, Warning};
use super::remittance::*;
use super::segments::{Segment, tag};

/// What one claim payment may hold, per the 835 guide: 999 service lines (SVC), 99 CAS
/// segments of six adjustments per claim or line, 99 LQ remark codes per line. A file beyond
/// them is refused rather than stored as a claim with tens of thousands of parts.
pub const MAX_LINES: usize = 999;
pub const MAX_ADJUSTMENTS: usize = 99 * 6;
pub const MAX_LINE_REMARKS: usize = 99;

/// Parses a whole 835 file: one or more interchanges, each with one or more functional
/// groups of one or more transactions. Any structural, numeric or balancing problem refuses
/// the whole file, so that nothing of a bad file is ever applied.
pub fn parse_835(input: &[u8]) -> Result<RemittanceFile<'_>, EdiError> {
    let mut cursor = Cursor::new(input);
    let kind = GroupKind { functional_id: "HP", description: "health care claim payment/advice" };
    let transactions = read_interchanges(&mut cursor, &kind, |cursor, st, envelope| {
        parse_transaction(cursor, st, envelope.interchange, envelope.group)
    })?;
    if transactions.is_empty() {
        return Err(EdiError::new(1, "", None, "the file holds no 835 transaction"));
    }
    Ok(RemittanceFile { transactions })
}

#[derive(Default)]
struct Header<'a> {
    payment: Option<Payment<'a>>,
    trace: Option<(&'a str, &'a str)>,
    production_date: Option<NaiveDate>,
    payer: Option<Party<'a>>,
    payee: Option<Party<'a>>,
    payer_contact: bool,
}

#[derive(PartialEq, Clone, Copy)]
enum Loop {
    Header,
    Payer,
    Payee,
    Detail,
    Trailer,
}

fn parse_transaction<'a>(
    cursor: &mut Cursor<'a>,
    st: Segment<'a>,
    interchange: &'a str,
    group: &'a str,
) -> Result<Transaction<'a>, EdiError> {
    if st.get(1) != "835" {
        return Err(st.error(Some(1), "only 835 transaction sets are accepted here"));
    }
    let control = st.required(2, "the transaction set control number")?;
    let component = cursor.delimiters().component as char;
    let mut header = Header::default();
    let mut warnings = Vec::new();
    // Reserve from what is left of the file (a claim takes a few hundred bytes), so that a
    // large file does not grow and copy its arrays over and over.
    let estimate = (cursor.reader.remaining() / 300).min(1 << 20);
    let mut claims: Vec<ClaimPayment<'a>> = Vec::with_capacity(estimate);
    let mut lines: Vec<ServiceLine<'a>> = Vec::with_capacity(estimate * 2);
    let mut adjustments: Vec<Adjustment<'a>> = Vec::with_capacity(estimate * 3);
    let mut remark_codes: Vec<&'a str> = Vec::new();
    let mut plbs = Vec::new();
    let mut state = Loop::Header;
    let mut in_lx = false;
    let mut warned_no_lx = false;
    let mut count = 1usize;

    loop {
        let seg = cursor.require("SE")?;
        count += 1;
        let warn =
            |warnings: &mut Vec<Warning>, message: String| warnings.push(Warning::new(seg.index, seg.id, message));
        match seg.tag {
            tag::SE => {
                if state != Loop::Trailer {
                    finish_claim(&claims, &lines, &adjustments)?;
                }
                check_trailer(&seg, count, control)?;
                break;
            }
            tag::ISA | tag::IEA | tag::GS | tag::GE | tag::ST => {
                return Err(seg.error(None, format!("the transaction {control} ends without an SE segment")));
            }
            tag::BPR => {
                if count != 2 {
                    return Err(seg.error(None, "BPR must be the first segment after ST"));
                }
                header.payment = Some(Payment {
                    handling_code: seg.required(1, "the transaction handling code")?,
                    amount: amount(&seg, 2, true)?,
                    credit_debit: match seg.get(3) {
                        "C" | "D" => seg.get(3),
                        _ => return Err(seg.error(Some(3), "must be C (credit) or D (debit)")),
                    },
                    method: seg.required(4, "the payment method")?,
                    effective_date: optional_date(&seg, 16)?,
                });
            }
            tag::TRN if state == Loop::Header => {
                if header.trace.is_some() {
                    return Err(seg.error(None, "a transaction has one TRN"));
                }
                let trace = seg.required(2, "the check or EFT trace number")?;
                let payer = seg.required(3, "the payer identifier")?;
                header.trace = Some((trace, payer));
            }
            tag::DTM if state == Loop::Header => {
                if seg.get(1) == "405" {
                    header.production_date = Some(date(&seg, 2)?);
                }
            }
            tag::N1 if matches!(state, Loop::Header | Loop::Payer | Loop::Payee) => {
                let party = Party { name: seg.get(2), id_qualifier: seg.get(3), id: seg.get(4) };
                let (slot, next_state, role) = match seg.get(1) {
                    "PR" => (&mut header.payer, Loop::Payer, "payer"),
                    "PE" => (&mut header.payee, Loop::Payee, "payee"),
                    _ => return Err(seg.error(Some(1), "must be PR (payer) or PE (payee)")),
                };
                if slot.is_some() {
                    // Clearinghouses repeat the loops; the first one is the one that paid.
                    warn(&mut warnings, format!("a repeated {role} loop was ignored"));
                } else {
                    *slot = Some(party);
                }
                state = next_state;
            }
            tag::PER if state == Loop::Payer => {
                if seg.get(1) == "BL" {
                    header.payer_contact = true;
                }
            }
            tag::LX => {
                enter_detail(&mut state, &seg)?;
                in_lx = true;
            }
            tag::CLP => {
                enter_detail(&mut state, &seg)?;
                if !in_lx && !warned_no_lx {
                    warned_no_lx = true;
                    warn(&mut warnings, "claims are not grouped under an LX header number".into());
                }
                let mut claim = claim_payment(&seg)?;
                finish_claim(&claims, &lines, &adjustments)?;
                let (a, r, l) = (adjustments.len() as u32, remark_codes.len() as u32, lines.len() as u32);
                (claim.adjustments, claim.remark_codes, claim.lines) = (a..a, r..r, l..l);
                claims.push(claim);
            }
            tag::CAS => {
                let claim = claims.last_mut().filter(|_| state == Loop::Detail);
                let claim = claim.ok_or_else(|| seg.error(None, "CAS must follow a CLP or SVC segment"))?;
                cas(&seg, &mut adjustments)?;
                let end = adjustments.len() as u32;
                // After an SVC, CAS belongs to that line; before any, to the claim.
                let owned = match lines.last_mut().filter(|_| !claim.lines.is_empty()) {
                    Some(line) => &mut line.adjustments,
                    None => &mut claim.adjustments,
                };
                owned.end = end;
                if owned.len() > MAX_ADJUSTMENTS {
                    return Err(seg.error(
                        None,
                        format!("more than {MAX_ADJUSTMENTS} adjustments in one claim or service line (99 CAS segments of 6)"),
                    ));
                }
            }
            tag::NM1 if state == Loop::Detail => {
                if let Some(claim) = claims.last_mut().filter(|c| c.lines.is_empty())
                    && seg.get(1) == "QC"
                {
                    claim.patient_last_name = seg.get(3);
                    claim.patient_first_name = seg.get(4);
                    claim.patient_member_id = seg.get(9);
                }
            }
            tag::MIA | tag::MOA if state == Loop::Detail => {
                let positions: &[usize] = if seg.id == "MIA" { &[5, 20, 21, 22, 23] } else { &[3, 4, 5, 6, 7] };
                let claim = claims.last_mut().ok_or_else(|| seg.error(None, "must follow a CLP segment"))?;
                if !claim.lines.is_empty() {
                    return Err(seg.error(None, format!("{} must come before the claim's service lines", seg.id)));
                }
                remark_codes.extend(positions.iter().map(|&p| seg.get(p)).filter(|c| !c.is_empty()));
                claim.remark_codes.end = remark_codes.len() as u32;
            }
            tag::SVC if state == Loop::Detail => {
                let claim = claims.last_mut().ok_or_else(|| seg.error(None, "SVC must follow a CLP segment"))?;
                if claim.lines.len() >= MAX_LINES {
                    return Err(seg.error(
                        None,
                        format!(
                            "claim {} has more than {MAX_LINES} service lines (the guide's limit)",
                            claim.claim_number
                        ),
                    ));
                }
                let mut line = service_line(&seg, component)?;
                line.adjustments = adjustments.len() as u32..adjustments.len() as u32;
                line.remark_codes = remark_codes.len() as u32..remark_codes.len() as u32;
                lines.push(line);
                claim.lines.end = lines.len() as u32;
            }
            tag::DTM if state == Loop::Detail => {
                if let Some(line) = current_line(&claims, &mut lines)
                    && matches!(seg.get(1), "472" | "150")
                {
                    line.service_date = Some(date(&seg, 2)?);
                } else {
                    date(&seg, 2)?;
                }
            }
            tag::REF if state == Loop::Detail => {
                if let Some(line) = current_line(&claims, &mut lines)
                    && seg.get(1) == "6R"
                {
                    line.line_control_number = Some(seg.required(2, "the line item control number")?);
                }
            }
            tag::AMT if state == Loop::Detail => {
                let value = amount(&seg, 2, true)?;
                if let Some(line) = current_line(&claims, &mut lines)
                    && seg.get(1) == "B6"
                {
                    line.allowed = Some(value);
                }
            }
            tag::LQ if state == Loop::Detail => {
                let line = current_line(&claims, &mut lines);
                let line = line.ok_or_else(|| seg.error(None, "LQ must follow an SVC segment"))?;
                if seg.get(1) == "HE" {
                    if line.remark_codes.len() >= MAX_LINE_REMARKS {
                        return Err(
                            seg.error(None, format!("more than {MAX_LINE_REMARKS} remark codes on one service line"))
                        );
                    }
                    remark_codes.push(seg.required(2, "the remark code")?);
                    line.remark_codes.end = remark_codes.len() as u32;
                }
            }
            tag::PLB => {
                if state != Loop::Trailer {
                    finish_claim(&claims, &lines, &adjustments)?;
                }
                state = Loop::Trailer;
                plbs.extend(plb(&seg, component)?);
            }
            // Other segments of the guide (N3, N4, REF, RDM, CUR, TS2, TS3, QTY, …) carry
            // nothing this model keeps; their numbers are still checked where they are money.
            tag::QTY => {
                decimal(&seg, 2)?;
            }
            tag::TS3
            | tag::TS2
            | tag::N3
            | tag::N4
            | tag::REF
            | tag::RDM
            | tag::CUR
            | tag::PER
            | tag::DTM
            | tag::NM1
            | tag::MIA
            | tag::MOA
            | tag::AMT => {}
            _ => {
                let other = seg.id;
                if state == Loop::Trailer {
                    return Err(seg.error(None, format!("{other} cannot follow PLB; only SE can")));
                }
                warn(&mut warnings, format!("segment {other} is not part of an 835 and was ignored"));
            }
        }
    }

    let se_index = cursor.reader.next_index() - 1;
    let missing = |what: &str| EdiError::new(se_index, "SE", None, format!("the transaction {control} has no {what}"));
    let payment = header.payment.ok_or_else(|| missing("BPR segment"))?;
    let (trace_number, trace_payer_id) = header.trace.ok_or_else(|| missing("TRN segment"))?;
    let payer = header.payer.ok_or_else(|| missing("payer (N1*PR) loop"))?;
    let payee = header.payee.ok_or_else(|| missing("payee (N1*PE) loop"))?;
    if !header.payer_contact {
        warnings.push(Warning {
            segment_index: st.index,
            segment_id: "ST".into(),
            message: "the payer loop has no technical contact (PER*BL)".into(),
        });
    }
    // The arrays were sized from the whole rest of the file: in a file of many transactions each
    // would keep room for all the ones after it. Keep what this one used (a large single
    // transaction, sized about right, is left as it is).
    fn fit<T>(v: &mut Vec<T>) {
        if v.capacity() > 4 * v.len() + 64 {
            v.shrink_to_fit();
        }
    }
    fit(&mut claims);
    fit(&mut lines);
    fit(&mut adjustments);
    let transaction = Transaction {
        interchange_control_number: interchange,
        group_control_number: group,
        transaction_control_number: control,
        payment,
        trace_number,
        trace_payer_id,
        production_date: header.production_date,
        payer,
        payee,
        claims,
        lines,
        adjustments,
        remark_codes,
        provider_adjustments: plbs,
        warnings,
    };
    balance::check_payment(&transaction, st.index)?;
    Ok(transaction)
}

/// Balances the claim read last (if any) as the next one starts or the detail ends.
fn finish_claim(
    claims: &[ClaimPayment<'_>],
    lines: &[ServiceLine<'_>],
    adjustments: &[Adjustment<'_>],
) -> Result<(), EdiError> {
    match claims.last() {
        Some(claim) => {
            balance::check_claim(claim, &lines[claim.lines.start as usize..claim.lines.end as usize], adjustments)
        }
        None => Ok(()),
    }
}

fn enter_detail(state: &mut Loop, seg: &Segment<'_>) -> Result<(), EdiError> {
    match *state {
        Loop::Trailer => Err(seg.error(None, "claims cannot follow PLB")),
        Loop::Header => Err(seg.error(None, "claims must follow the payer (N1*PR) and payee (N1*PE) loops")),
        _ => {
            *state = Loop::Detail;
            Ok(())
        }
    }
}

/// The last line of the last claim, if that claim has lines.
fn current_line<'a, 'l>(
    claims: &[ClaimPayment<'a>],
    lines: &'l mut [ServiceLine<'a>],
) -> Option<&'l mut ServiceLine<'a>> {
    claims.last().filter(|c| !c.lines.is_empty())?;
    lines.last_mut()
}
