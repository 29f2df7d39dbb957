//! How claim files look in responses.

use chrono::{DateTime, Utc};
use overturn_entity::claim_file;
use overturn_service::claim_files::{ClaimOutcome, ClaimStatus, Fault};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A claim file and what became of each claim in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimFile {
    #[serde(flatten)]
    pub summary: ClaimFileSummary,
    /// Every claim (2300 loop) of the file, in file order.
    pub claims: Vec<ClaimFileClaim>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimFileSummary {
    pub id: Uuid,
    /// `received` (an 837 sent to Overturn) or `export` (an 837 Overturn wrote).
    #[schema(example = "received")]
    pub kind: String,
    /// `837P` or `837I`.
    #[schema(example = "837P")]
    pub format: String,
    pub received_at: DateTime<Utc>,
    pub claim_count: i32,
    pub created_count: i32,
    pub rejected_count: i32,
    pub duplicate_count: i32,
    /// The 999 acknowledgment of a received file (`null` for an export).
    #[schema(example = "/v1/claim-files/0192f0c4-3c1e-7a51-9d9c-3f1c2e4b5a6d/999")]
    pub acknowledgment_url: Option<String>,
    /// The file's 837: as received, or as written for an export.
    #[schema(example = "/v1/claim-files/0192f0c4-3c1e-7a51-9d9c-3f1c2e4b5a6d/837")]
    pub file_url: String,
}

impl ClaimFileSummary {
    pub fn from_row(row: &claim_file::Model) -> Self {
        Self {
            id: row.id,
            kind: row.kind.clone(),
            format: row.format.clone(),
            received_at: row.received_at,
            claim_count: row.claim_count,
            created_count: row.created_count,
            rejected_count: row.rejected_count,
            duplicate_count: row.duplicate_count,
            acknowledgment_url: (row.kind == "received").then(|| format!("/v1/claim-files/{}/999", row.id)),
            file_url: format!("/v1/claim-files/{}/837", row.id),
        }
    }
}

/// One claim of a file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimFileClaim {
    /// CLM01 as sent.
    pub claim_number: String,
    /// `created`; `rejected` (see `errors`; nothing was stored); `duplicate` (a claim with
    /// this number was on file already: `claim_id` names it); or, in an export, `exported`.
    #[schema(example = "created")]
    pub status: String,
    pub claim_id: Option<Uuid>,
    pub errors: Vec<SegmentError>,
}

/// A fault of a claim, by the segment and element at fault.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentError {
    /// 1-based position of the segment in the file.
    pub segment_index: usize,
    pub segment_id: String,
    /// 1-based element position, when one element is at fault.
    pub element: Option<usize>,
    pub message: String,
}

impl From<&Fault> for SegmentError {
    fn from(f: &Fault) -> Self {
        Self {
            segment_index: f.segment_index,
            segment_id: f.segment_id.clone(),
            element: f.element,
            message: f.message.clone(),
        }
    }
}

impl From<&ClaimOutcome> for ClaimFileClaim {
    fn from(o: &ClaimOutcome) -> Self {
        let status = match o.status {
            ClaimStatus::Created => "created",
            ClaimStatus::Rejected => "rejected",
            ClaimStatus::Duplicate => "duplicate",
            ClaimStatus::Exported => "exported",
        };
        Self {
            claim_number: o.claim_number.clone(),
            status: status.to_owned(),
            claim_id: o.claim_id,
            errors: o.errors.iter().map(SegmentError::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimFileList {
    pub items: Vec<ClaimFileSummary>,
    pub next_cursor: Option<String>,
}
