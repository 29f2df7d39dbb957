use sea_orm::entity::prelude::*;

/// An ICD-10-CM code of an imported fiscal year, with the CDC's descriptions.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "icd10cm_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub fiscal_year: i32,
    /// Without its dot.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub billable: bool,
    pub short_description: String,
    pub long_description: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
