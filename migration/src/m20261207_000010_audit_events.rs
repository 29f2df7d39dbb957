//! The PHI access log: one event per request that reads or changes patient data, chained by
//! hash. Events are stored first and sealed (given `seq`, `prev_hash` and `hash`) in order
//! by one sealer at a time, so writers never wait on each other for the chain.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum AuditEvents {
    Table,
    Id,
    Seq,
    At,
    KeyId,
    Role,
    SessionId,
    Action,
    Route,
    Status,
    ResourceType,
    ResourceIds,
    ResourceCount,
    MemberIds,
    MemberCount,
    RequestId,
    RemoteAddr,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditEventMembers {
    Table,
    MemberId,
    EventId,
}

#[derive(DeriveIden)]
enum AuditCheckpoints {
    Table,
    Seq,
    Hash,
    PurgedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(uuid(AuditEvents::Id).primary_key())
                    .col(big_integer_null(AuditEvents::Seq))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .col(uuid_null(AuditEvents::KeyId))
                    .col(string_len(AuditEvents::Role, 16))
                    .col(uuid_null(AuditEvents::SessionId))
                    .col(string_len(AuditEvents::Action, 16))
                    .col(string_len(AuditEvents::Route, 200))
                    .col(integer(AuditEvents::Status))
                    .col(string_len(AuditEvents::ResourceType, 40))
                    .col(text(AuditEvents::ResourceIds))
                    .col(big_integer(AuditEvents::ResourceCount))
                    .col(text(AuditEvents::MemberIds))
                    .col(big_integer(AuditEvents::MemberCount))
                    .col(string_len(AuditEvents::RequestId, 64))
                    .col(string_len_null(AuditEvents::RemoteAddr, 64))
                    .col(string_len_null(AuditEvents::PrevHash, 64))
                    .col(string_len_null(AuditEvents::Hash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_seq")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // What the sealer takes next: only the few events not sealed yet.
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_unsealed")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Id)
                    .and_where(Expr::col(AuditEvents::Seq).is_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_key")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::KeyId)
                    .col(AuditEvents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_audit_events_at").table(AuditEvents::Table).col(AuditEvents::At).to_owned(),
            )
            .await?;
        // "Who saw this patient": one row per listed member of an event.
        manager
            .create_table(
                Table::create()
                    .table(AuditEventMembers::Table)
                    .col(string_len(AuditEventMembers::MemberId, 80))
                    .col(uuid(AuditEventMembers::EventId))
                    .primary_key(Index::create().col(AuditEventMembers::MemberId).col(AuditEventMembers::EventId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_members_event")
                    .table(AuditEventMembers::Table)
                    .col(AuditEventMembers::EventId)
                    .to_owned(),
            )
            .await?;
        // Where the chain continues after a retention purge: the last purged event.
        manager
            .create_table(
                Table::create()
                    .table(AuditCheckpoints::Table)
                    .col(big_integer(AuditCheckpoints::Seq).primary_key())
                    .col(string_len(AuditCheckpoints::Hash, 64))
                    .col(timestamp_with_time_zone(AuditCheckpoints::PurgedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditCheckpoints::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AuditEventMembers::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AuditEvents::Table).to_owned()).await
    }
}
