use sea_orm::entity::prelude::*;

/// A payer's deadlines in calendar days; payers without a row get the defaults.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payer_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub payer_id: String,
    pub appeal_window_days: i32,
    pub timely_filing_days: i32,
    pub status_check_after_days: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
