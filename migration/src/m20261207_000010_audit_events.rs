//! The PHI access log: one event per request that reads or changes patient data, chained by
//! hash and appended in order (the chain's position, `seq`, is the key). On PostgreSQL a
//! write's event waits in `audit_pending` (committed with the write) until the chainer appends it.
//!
//! Written for the cost of an append, since every claim written writes one: `seq` is SQLite's
//! rowid (no index of its own), the row is narrow (`at` in microseconds, the hash as 32 bytes,
//! no copy of the previous row's hash), and the one other entry is the lookup the log exists for, a
//! patient (`member_id`, set when an event names one patient; events naming several list them
//! in `audit_event_members`). Filters by key or time walk `seq` newest first (measured in
//! docs/benchmarks.md: an index per key cost the claims path more than the budget allowed).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum AuditEvents {
    Table,
    Seq,
    Id,
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
    MemberId,
    MemberIds,
    MemberCount,
    RequestId,
    RemoteAddr,
    Hash,
}

#[derive(DeriveIden)]
enum AuditEventMembers {
    Table,
    MemberId,
    Seq,
}

#[derive(DeriveIden)]
enum AuditPending {
    Table,
    Id,
    Event,
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
        // SQLite makes an INTEGER PRIMARY KEY the rowid itself; PostgreSQL needs 64 bits.
        let seq = if manager.get_database_backend() == sea_orm::DbBackend::Sqlite {
            integer(AuditEvents::Seq).primary_key().to_owned()
        } else {
            big_integer(AuditEvents::Seq).primary_key().to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(seq)
                    .col(uuid(AuditEvents::Id))
                    .col(big_integer(AuditEvents::At))
                    .col(uuid_null(AuditEvents::KeyId))
                    .col(string_len(AuditEvents::Role, 16))
                    .col(uuid_null(AuditEvents::SessionId))
                    .col(string_len(AuditEvents::Action, 16))
                    .col(string_len(AuditEvents::Route, 200))
                    .col(integer(AuditEvents::Status))
                    .col(string_len(AuditEvents::ResourceType, 40))
                    .col(text(AuditEvents::ResourceIds))
                    .col(big_integer(AuditEvents::ResourceCount))
                    .col(string_len_null(AuditEvents::MemberId, 80))
                    .col(text_null(AuditEvents::MemberIds))
                    .col(big_integer(AuditEvents::MemberCount))
                    .col(string_len(AuditEvents::RequestId, 64))
                    .col(string_len_null(AuditEvents::RemoteAddr, 64))
                    .col(binary_len(AuditEvents::Hash, 32))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_member")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::MemberId)
                    .col(AuditEvents::Seq)
                    .and_where(Expr::col(AuditEvents::MemberId).is_not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEventMembers::Table)
                    .col(string_len(AuditEventMembers::MemberId, 80))
                    .col(big_integer(AuditEventMembers::Seq))
                    .primary_key(Index::create().col(AuditEventMembers::MemberId).col(AuditEventMembers::Seq))
                    .to_owned(),
            )
            .await?;
        // PostgreSQL writes' events, committed with the write and chained moments later by one
        // chainer: holding the chain's head in every writing transaction would serialize them.
        manager
            .create_table(
                Table::create()
                    .table(AuditPending::Table)
                    .col(uuid(AuditPending::Id).primary_key())
                    .col(text(AuditPending::Event))
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
        manager.drop_table(Table::drop().table(AuditPending::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AuditEventMembers::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AuditEvents::Table).to_owned()).await
    }
}
