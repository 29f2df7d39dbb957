//! The service lines of a claim (2400 loops): SV1 on an 837P, SV2 on an 837I, their dates
//! (DTP*472) and line control numbers (REF*6R).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::super::elements::{amount, decimal};
use super::super::error::Fault;
use super::super::segments::Segment;
use super::project::{Faults, checked, max_lines, missing, period};
use super::{Format, Loop};
use crate::claim::{ClaimLineDraft, MAX_MODIFIERS, parse_units};
use crate::codes::{Modifier, ProcedureCode, RevenueCode};
use crate::{LineControlNumber, Money};

pub(super) fn read_lines(
    format: Format,
    l: &Loop<'_, '_>,
    default_date: Option<NaiveDate>,
    f: &mut Faults,
) -> Vec<Option<ClaimLineDraft>> {
    let clm = &l.segments()[0];
    let loops: Vec<Loop<'_, '_>> = l.children_of("2400").collect();
    if loops.is_empty() {
        f.push(missing(clm, "LX", "a service line (LX, loop 2400)"));
    }
    if loops.len() > max_lines(format) {
        f.push(clm.error(
            None,
            format!(
                "a {} claim has at most {} service lines; this one has {}",
                format.name(),
                max_lines(format),
                loops.len()
            ),
        ));
        return vec![None];
    }
    loops
        .iter()
        .enumerate()
        .map(|(i, lp)| {
            let lx = &lp.segments()[0];
            if lx.get(1).parse::<usize>().ok() != Some(i + 1) || lx.get(1).starts_with('0') {
                f.push(lx.error(Some(1), format!("must be {}: line numbers count up from 1", i + 1)));
            }
            let line = match format {
                Format::Professional => lp.segment("SV1", &[]).map(|sv| professional_line(sv, f)),
                Format::Institutional => lp.segment("SV2", &[]).map(|sv| institutional_line(sv, f)),
            };
            let id = if format == Format::Professional { "SV1" } else { "SV2" };
            let Some(line) = line else {
                f.push(missing(lx, id, &format!("the service ({id}) of line {}", i + 1)));
                return None;
            };
            let service_date = match lp.segment("DTP", &["472"]) {
                Some(dtp) => f.take(period(dtp)).map(|p| p.0),
                None if format == Format::Institutional => default_date,
                None => {
                    f.push(missing(lx, "DTP", &format!("the date of service (DTP*472) of line {}", i + 1)));
                    None
                }
            };
            let line_control_number = match lp.segment("REF", &["6R"]) {
                Some(r) => Some(
                    f.take(
                        r.required(2, "the line item control number")
                            .and_then(|v| checked(r, 2, LineControlNumber::parse(v))),
                    )?,
                ),
                None => None,
            };
            let (procedure_code, revenue_code, modifiers, units, charge) = line?;
            Some(ClaimLineDraft {
                procedure_code,
                revenue_code,
                modifiers,
                units,
                charge,
                service_date: service_date?,
                line_control_number,
            })
        })
        .collect()
}

type Line = (Option<ProcedureCode>, Option<RevenueCode>, Vec<Modifier>, Decimal, Money);

/// `HC:code:modifier…` at element `n`.
fn procedure(sv: &Segment<'_>, n: usize, f: &mut Faults) -> Option<(ProcedureCode, Vec<Modifier>)> {
    let qualifier = sv.component(n, 1);
    if qualifier != "HC" {
        f.push(sv.error(Some(n), format!("{qualifier:?}: only HC (CPT and HCPCS) procedure codes are read")));
        return None;
    }
    let code = f.take(checked(sv, n, ProcedureCode::parse(sv.component(n, 2))));
    // Components 3 to 6 are the modifiers (any may be empty), 7 a description.
    let modifiers: Vec<Option<Modifier>> = sv
        .components(n)
        .skip(2)
        .take(4)
        .filter(|m| !m.is_empty())
        .map(|m| f.take(checked(sv, n, Modifier::parse(m))))
        .collect();
    if sv.components(n).count() > 2 + MAX_MODIFIERS + 1 {
        f.push(sv.error(Some(n), format!("at most {MAX_MODIFIERS} modifiers (and a description)")));
    }
    Some((code?, modifiers.into_iter().collect::<Option<Vec<_>>>()?))
}

fn units(sv: &Segment<'_>, n: usize, f: &mut Faults) -> Option<Decimal> {
    f.take(decimal(sv, n).and_then(|u| checked(sv, n, parse_units(u))))
}

fn professional_line(sv: &Segment<'_>, f: &mut Faults) -> Option<Line> {
    let code = procedure(sv, 1, f);
    let charge = f.take(amount(sv, 2, true));
    if !matches!(sv.get(3), "UN" | "MJ") {
        f.push(sv.error(Some(3), "must be UN (units) or MJ (minutes)"));
    }
    let units = units(sv, 4, f);
    let place = sv.get(5);
    if !place.is_empty() && (place.len() != 2 || !place.bytes().all(|b| b.is_ascii_digit())) {
        f.push(sv.error(Some(5), format!("{place:?} is not a place of service code (two digits)")));
    }
    if sv.get(7).is_empty() {
        f.push(sv.error(Some(7), "the diagnosis code pointer is required").fault(Fault::Missing));
    }
    let (code, modifiers) = code?;
    Some((Some(code), None, modifiers, units?, charge?))
}

fn institutional_line(sv: &Segment<'_>, f: &mut Faults) -> Option<Line> {
    let revenue = f.take(sv.required(1, "the revenue code").and_then(|v| checked(sv, 1, RevenueCode::parse(v))));
    let code = if sv.get(2).is_empty() { Some(None) } else { procedure(sv, 2, f).map(Some) };
    let charge = f.take(amount(sv, 3, true));
    if !matches!(sv.get(4), "UN" | "DA") {
        f.push(sv.error(Some(4), "must be UN (units) or DA (days)"));
    }
    let units = units(sv, 5, f);
    let (code, modifiers) = match code? {
        Some((c, m)) => (Some(c), m),
        None => (None, Vec::new()),
    };
    Some((code, Some(revenue?), modifiers, units?, charge?))
}
