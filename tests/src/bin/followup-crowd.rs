//! The follow-up firing benchmark (`bench/followups.sh`): stores COUNT status checks all
//! falling due DUE_IN seconds from now in the database the environment names (as `overturn`
//! reads it), then waits until every one has fired and reports how long after their due
//! time that took, and whether any fired twice or early.
//!
//!   COUNT=100000 DUE_IN=20 target/release/followup-crowd

use std::time::{Duration, Instant};

use overturn_entity::follow_up;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let count = env_number("COUNT", 100_000) as usize;
    let due_in = env_number("DUE_IN", 20) as i64;
    let settings = overturn_service::configuration::Settings::from_env().expect("settings");
    let db = overturn_service::db::Db::connect(&settings).await.expect("database");
    let due = overturn_service::sql::now() + chrono::Duration::seconds(due_in);
    let payer = format!("CROWD{}", std::process::id());
    let rows = overturn_tests::crowd_of_follow_ups(count, &payer, due);
    let stored = Instant::now();
    for chunk in rows.chunks(10_000) {
        overturn_service::followups::schedule(&db.write, chunk).await.expect("stored");
    }
    println!("stored {count} follow-ups due at {due} in {:.1} s", stored.elapsed().as_secs_f64());
    let mine = || follow_up::Entity::find().filter(follow_up::Column::PayerId.eq(payer.as_str()));
    loop {
        let left = mine().filter(follow_up::Column::Status.eq("scheduled")).count(&db.read).await.expect("count");
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last: Option<chrono::DateTime<chrono::Utc>> = mine()
        .select_only()
        .column_as(follow_up::Column::FiredAt.max(), "last")
        .into_tuple()
        .one(&db.read)
        .await
        .expect("max")
        .flatten();
    let once = mine().filter(follow_up::Column::FireCount.eq(1)).count(&db.read).await.expect("count");
    let early = mine().filter(follow_up::Column::FiredAt.lt(due)).count(&db.read).await.expect("count");
    let took = last.map(|l| (l - due).num_milliseconds() as f64 / 1000.0).unwrap_or_default();
    println!(
        "all {count} fired {took:.1} s after their due time ({:.0}/s); fired once: {once}; early: {early}",
        count as f64 / took.max(0.001)
    );
    assert_eq!(once, count as u64, "every follow-up fired exactly once");
    assert_eq!(early, 0, "none fired early");
}
