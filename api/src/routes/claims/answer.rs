//! The answer `POST /v1/claims` gives, rendered for the claim writer, which stores it with the
//! idempotency record in the claim's own transaction.

use overturn_domain::x12::claim837::StoredClaim as Loops;
use overturn_entity::{claim, claim_line, follow_up};
use overturn_service::claim_writer::ClaimAnswer;
use overturn_service::queue::BoxFuture;
use sea_orm::{DatabaseTransaction, DbErr};

use super::Claim;
use crate::routes::{denials, followups};

/// Renders claims as `Claim` JSON.
pub struct ClaimJson;

impl ClaimAnswer for ClaimJson {
    fn created(
        &self,
        claim: &claim::Model,
        lines: &[claim_line::Model],
        follow_ups: &[follow_up::Model],
        detail: Option<&Loops>,
    ) -> Result<String, String> {
        let mut shown = Claim::from_rows(claim.clone(), lines.to_vec()).with_detail(detail);
        let mut planned: Vec<&follow_up::Model> = follow_ups.iter().collect();
        // In the order the claim views list them: soonest due first.
        planned.sort_by_key(|f| (f.due_at, f.id));
        shown.follow_ups = planned.into_iter().map(followups::FollowUp::from_row).collect();
        shown.follow_up_count = shown.follow_ups.len() as i64;
        serde_json::to_string(&shown).map_err(|e| e.to_string())
    }

    fn settled<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        claim: claim::Model,
        lines: Vec<claim_line::Model>,
        detail: Option<&'a Loops>,
    ) -> BoxFuture<'a, Result<String, DbErr>> {
        Box::pin(async move {
            let mut shown = Claim::from_rows(claim, lines).with_detail(detail);
            // Payments that waited for this claim may have been classified already.
            shown.denials = denials::of_claims(txn, &[shown.id]).await?.remove(&shown.id).unwrap_or_default();
            // The payment answered the status check.
            shown.follow_ups = followups::of_claims(txn, &[shown.id]).await?.remove(&shown.id).unwrap_or_default();
            shown.denial_count = shown.denials.len() as i64;
            shown.follow_up_count = shown.follow_ups.len() as i64;
            serde_json::to_string(&shown).map_err(|e| DbErr::Custom(e.to_string()))
        })
    }
}
