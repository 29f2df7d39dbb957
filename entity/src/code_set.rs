use sea_orm::entity::prelude::*;

/// A code set imported for the scrubber: the servers reload when one changes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "code_sets")]
pub struct Model {
    /// `icd10cm:YYYY` (a fiscal year), `hcpcs`, `ncci_ptp`, `mue`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// What edits name as the set's version.
    pub version: String,
    /// The file it came from.
    pub source: String,
    pub row_count: i32,
    pub imported_at: DateTimeUtc,
    /// A set kept whole (`ncci_ptp`, `mue`): its rows packed and gzip-compressed; `None` for a
    /// set kept in its own table (ICD-10-CM).
    pub data: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
