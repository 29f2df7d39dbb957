//! The schema's indexes as the queries that need them see them, and migrations that go down
//! and up again.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use sea_orm_migration::MigratorTrait;

use crate::helpers::{Backend, TestDatabase};

/// The plan of `select` on this connection, one line of text per step. On PostgreSQL it is
/// the generic plan (the one a prepared statement keeps after its first runs, where the
/// parameters are unknown), with sequential scans priced out so that any usable index shows.
async fn plan(db: &DatabaseConnection, select: &str, pg_parameter_types: &str, pg_arguments: &str) -> String {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let txn = db.begin().await.unwrap();
            txn.execute_unprepared("SET LOCAL plan_cache_mode = force_generic_plan").await.unwrap();
            txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
            txn.execute_unprepared(&format!("PREPARE probe ({pg_parameter_types}) AS {select}")).await.unwrap();
            let rows = txn
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    format!("EXPLAIN EXECUTE probe ({pg_arguments})"),
                ))
                .await
                .unwrap();
            // Prepared statements outlive the transaction: the next probe reuses the name.
            txn.execute_unprepared("DEALLOCATE probe").await.unwrap();
            txn.rollback().await.unwrap();
            rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect::<Vec<_>>().join("\n")
        }
        backend => {
            let sql = select.replace("$1", "?").replace("$2", "?");
            let rows =
                db.query_all_raw(Statement::from_string(backend, format!("EXPLAIN QUERY PLAN {sql}"))).await.unwrap();
            rows.iter().map(|r| r.try_get::<String>("", "detail").unwrap()).collect::<Vec<_>>().join("\n")
        }
    }
}

/// Whether the index's definition keeps only some rows.
async fn is_partial(db: &DatabaseConnection, index: &str) -> bool {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!("SELECT indexdef FROM pg_indexes WHERE indexname = '{index}'"),
        _ => format!("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = '{index}'"),
    };
    let row = db.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().expect("the index exists");
    row.try_get_by_index::<String>(0).unwrap().to_uppercase().contains(" WHERE ")
}

/// A claim's status check and timely-filing watch have no denial and no payment: the indexes
/// on those columns leave such rows out (issue #16), and every lookup by them still uses them,
/// on PostgreSQL in the generic plans that prepared statements end up with. Down and up again.
async fn follow_ups_index_only_rows_with_a_denial_or_payment(backend: Backend) {
    let test_db = TestDatabase::new(backend).await;
    let settings = overturn_service::configuration::Settings::from_map(&test_db.vars).unwrap();
    let db = overturn_service::db::Db::connect(&settings).await.unwrap();
    db.migrate().await.unwrap();
    let lookups = [
        (
            "idx_follow_ups_denial",
            "SELECT id FROM follow_ups WHERE denial_id = $1",
            "uuid",
            "'0190c7d0-0000-7000-8000-000000000001'",
        ),
        (
            "idx_follow_ups_payment",
            "SELECT id FROM follow_ups WHERE claim_payment_id IN ($1, $2)",
            "uuid, uuid",
            "'0190c7d0-0000-7000-8000-000000000001', '0190c7d0-0000-7000-8000-000000000002'",
        ),
    ];
    for (index, select, types, arguments) in lookups {
        assert!(is_partial(&db.write, index).await, "{index} is partial");
        let plan = plan(&db.write, select, types, arguments).await;
        assert!(plan.contains(index), "{select} uses {index}:\n{plan}");
    }

    // This migration and any that came after it.
    let migrations = overturn_migration::Migrator::migrations();
    let position = migrations.iter().position(|m| m.name() == "m20261207_000008_follow_up_partial_indexes").unwrap();
    overturn_migration::Migrator::down(&db.write, Some((migrations.len() - position) as u32)).await.unwrap();
    assert!(!is_partial(&db.write, "idx_follow_ups_denial").await);
    assert!(!is_partial(&db.write, "idx_follow_ups_payment").await);
    overturn_migration::Migrator::up(&db.write, None).await.unwrap();
    assert!(is_partial(&db.write, "idx_follow_ups_denial").await);
    assert!(is_partial(&db.write, "idx_follow_ups_payment").await);
    db.close().await;
}

crate::on_both_backends!(follow_ups_index_only_rows_with_a_denial_or_payment);
