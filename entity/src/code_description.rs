use sea_orm::entity::prelude::*;

/// An official description of a CARC or RARC, imported from a list the user holds.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "code_descriptions")]
pub struct Model {
    /// `carc` or `rarc`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub list: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub description: String,
    /// The list's stop date (or note) for a deactivated code.
    pub stopped: Option<String>,
    /// The file it came from.
    pub source: String,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
