//! CARC and RARC descriptions: the official ones a user imported, else the built-in summary.

use std::collections::{BTreeMap, HashMap};

use overturn_domain::code_sets::CodeList;
use overturn_domain::code_sets::import::ImportedCode;
use overturn_entity::code_description;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// Stores an imported list in one transaction; a code imported before is replaced.
pub async fn import(
    db: &sea_orm::DatabaseConnection,
    list: CodeList,
    rows: Vec<ImportedCode>,
    source: &str,
) -> Result<usize, DbErr> {
    let now = crate::sql::now();
    let count = rows.len();
    let txn = crate::db::begin_write(db).await?;
    let models: Vec<code_description::ActiveModel> = rows
        .into_iter()
        .map(|r| {
            code_description::ActiveModel::from(code_description::Model {
                list: list.as_str().to_owned(),
                code: r.code,
                description: r.description,
                stopped: r.stopped,
                source: source.chars().take(255).collect(),
                imported_at: now,
            })
        })
        .collect();
    let mut models = models.into_iter().peekable();
    while models.peek().is_some() {
        let chunk: Vec<_> =
            models.by_ref().take(crate::sql::rows_per_statement::<code_description::Entity>()).collect();
        code_description::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([code_description::Column::List, code_description::Column::Code])
                    .update_columns([
                        code_description::Column::Description,
                        code_description::Column::Stopped,
                        code_description::Column::Source,
                        code_description::Column::ImportedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(count)
}

/// Descriptions of these codes: imported where there is one, else built in; codes neither
/// knows are left out.
pub async fn describe<C: ConnectionTrait>(
    db: &C,
    list: CodeList,
    codes: impl IntoIterator<Item = String>,
) -> Result<BTreeMap<String, String>, DbErr> {
    let codes: Vec<String> = codes.into_iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut imported: HashMap<String, String> = HashMap::new();
    for chunk in codes.chunks(crate::sql::MAX_PARAMS) {
        let rows = code_description::Entity::find()
            .filter(code_description::Column::List.eq(list.as_str()))
            .filter(code_description::Column::Code.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        imported.extend(rows.into_iter().map(|r| (r.code, r.description)));
    }
    Ok(codes
        .into_iter()
        .filter_map(|code| {
            let text = imported.remove(&code).or_else(|| list.lookup(&code).map(|c| c.description.to_owned()))?;
            Some((code, text))
        })
        .collect())
}
