//! Official CARC and RARC descriptions a user imported (`overturn codes import`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CodeDescriptions {
    Table,
    List,
    Code,
    Description,
    Stopped,
    Source,
    ImportedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CodeDescriptions::Table)
                    .col(string_len(CodeDescriptions::List, 4))
                    .col(string_len(CodeDescriptions::Code, 8))
                    .col(text(CodeDescriptions::Description))
                    .col(string_len_null(CodeDescriptions::Stopped, 100))
                    .col(string_len(CodeDescriptions::Source, 255))
                    .col(timestamp_with_time_zone(CodeDescriptions::ImportedAt))
                    .primary_key(Index::create().col(CodeDescriptions::List).col(CodeDescriptions::Code))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CodeDescriptions::Table).to_owned()).await
    }
}
