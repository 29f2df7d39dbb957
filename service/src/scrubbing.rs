//! The code sets the scrubber consults, built once and shared by every request of a process:
//! the ICD-10-CM years the binary ships, decompressed at start-up rather than on the first
//! claim. Imported sets (ICD-10-CM years, HCPCS, NCCI PTP, MUE) join them here.

use std::sync::{Arc, RwLock};

use overturn_domain::ClaimDraft;
use overturn_domain::scrub::{CodeSets, Edit, ScrubClaim, scrub};
use overturn_domain::x12::claim837::ClaimFields;

#[derive(Debug)]
pub struct CodeSetCache {
    current: RwLock<Arc<CodeSets>>,
}

impl CodeSetCache {
    /// The shipped sets, loaded now.
    pub fn shipped() -> Self {
        Self { current: RwLock::new(Arc::new(CodeSets::shipped())) }
    }

    /// The sets as they stand: a request keeps its `Arc` while a newer one replaces it.
    pub fn current(&self) -> Arc<CodeSets> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Every edit of a parsed claim and its 837 fields.
    pub fn scrub(&self, draft: &ClaimDraft, fields: Option<&ClaimFields>) -> Vec<Edit> {
        scrub(&ScrubClaim::of(draft, fields), &self.current())
    }
}
