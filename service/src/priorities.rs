//! One way to bring denials' priorities up to date. A priority depends on the days left to
//! the appeal deadline, so it goes stale by itself: the daily upkeep pass, a reminder firing
//! and a payer's new rules all refresh it here.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::classification::{self, Action, Category, PayerRules};
use overturn_entity::denial;
use sea_orm::sea_query::{ArrayType, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::sql::{MAX_PARAMS, any_of};

/// A denial's priority on `today` under `rules`; `None` for a row whose category or action
/// this version does not know (it keeps the priority it has).
pub fn priority_of(row: &denial::Model, rules: &PayerRules, today: NaiveDate) -> Option<i32> {
    let category = Category::parse(&row.category)?;
    let action = Action::parse(&row.recommended_action)?;
    Some(rank(row.amount_cents, category, action, row.appeal_deadline, rules, today))
}

/// The priority of a denial of `amount_cents` with this deadline, on `today`.
pub fn rank(
    amount_cents: i64,
    category: Category,
    action: Action,
    deadline: Option<NaiveDate>,
    rules: &PayerRules,
    today: NaiveDate,
) -> i32 {
    let days_left = deadline.map(|d| (d - today).num_days());
    classification::priority(amount_cents, category, action, days_left, rules.appeal_window_days)
}

/// What a refresh found: every row's current priority, and how many rows it changed.
#[derive(Debug, Default)]
pub struct Refreshed {
    pub priorities: HashMap<Uuid, i32>,
    pub changed: u64,
}

/// Recomputes the priority of `rows` (as read) and stores those that moved. Each update
/// applies only if the stored priority is still the one read, so a concurrent refresh or
/// action is never overwritten with an older view; the next refresh catches it up. One
/// statement per (old, new) pair, not per denial: denials refreshed together mostly share a
/// few priorities.
pub async fn refresh<C: ConnectionTrait>(
    db: &C,
    rows: &[denial::Model],
    rules: &HashMap<String, PayerRules>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Refreshed, DbErr> {
    let mut out = Refreshed::default();
    let mut moves: BTreeMap<(i32, i32), Vec<Uuid>> = BTreeMap::new();
    for row in rows {
        let payer_rules = rules.get(&row.payer_id).copied().unwrap_or_default();
        let Some(priority) = priority_of(row, &payer_rules, today) else { continue };
        out.priorities.insert(row.id, priority);
        if priority != row.priority {
            moves.entry((row.priority, priority)).or_default().push(row.id);
        }
    }
    let backend = db.get_database_backend();
    for ((from, to), ids) in moves {
        for chunk in ids.chunks(MAX_PARAMS) {
            let updated = denial::Entity::update_many()
                .col_expr(denial::Column::Priority, Expr::value(to))
                .col_expr(denial::Column::UpdatedAt, Expr::value(now))
                .filter(any_of(backend, denial::Column::Id, ArrayType::Uuid, chunk))
                .filter(denial::Column::Priority.eq(from))
                .exec(db)
                .await?;
            out.changed += updated.rows_affected;
        }
    }
    Ok(out)
}
