//! The code sets the scrubber consults, built once and shared by every request of a process:
//! the ICD-10-CM years the binary ships (decompressed at start-up rather than on the first
//! claim) and the sets imported into the database (`overturn codes import icd10cm`), which
//! stand beside or over the shipped ones. Each process reloads when an import changes
//! `code_sets`, checking every `REFRESH` (an import is a separate process, and replicas are
//! many).

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use overturn_domain::ClaimDraft;
use overturn_domain::scrub::icd10cm::{Icd10Cm, Icd10CmYears, OrderRow};
use overturn_domain::scrub::ncci::{MueSet, PtpSet};
use overturn_domain::scrub::{CodeSets, Edit, ScrubClaim, scrub};
use overturn_domain::x12::claim837::ClaimFields;
use overturn_entity::{code_set, icd10cm_code};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};

/// How often a process looks for sets imported since it loaded its own.
pub const REFRESH: Duration = Duration::from_secs(30);

/// The `code_sets` names of the sets kept whole.
pub const PTP: &str = "ncci_ptp";
pub const MUE: &str = "mue";

/// The `code_sets` name of an imported ICD-10-CM year.
fn icd10cm_name(year: i32) -> String {
    format!("icd10cm:{year}")
}

#[derive(Debug)]
pub struct CodeSetCache {
    current: RwLock<Arc<CodeSets>>,
    /// The imports the current sets were built from: (name, imported at).
    loaded: Mutex<Vec<(String, DateTime<Utc>)>>,
}

impl CodeSetCache {
    /// The shipped sets only.
    pub fn shipped() -> Self {
        Self { current: RwLock::new(Arc::new(CodeSets::shipped())), loaded: Mutex::new(Vec::new()) }
    }

    /// The shipped sets and every imported one.
    pub async fn load<C: ConnectionTrait>(db: &C) -> Result<Self, DbErr> {
        let cache = Self::shipped();
        cache.refresh(db).await?;
        Ok(cache)
    }

    /// The sets as they stand: a request keeps its `Arc` while a newer one replaces it.
    pub fn current(&self) -> Arc<CodeSets> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Every edit of a parsed claim and its 837 fields.
    pub fn scrub(&self, draft: &ClaimDraft, fields: Option<&ClaimFields>) -> Vec<Edit> {
        scrub(&ScrubClaim::of(draft, fields), &self.current())
    }

    /// Rebuilds the sets when the imports differ from those loaded; returns whether it did.
    pub async fn refresh<C: ConnectionTrait>(&self, db: &C) -> Result<bool, DbErr> {
        let mut imports: Vec<(String, DateTime<Utc>)> = code_set::Entity::find()
            .select_only()
            .columns([code_set::Column::Name, code_set::Column::ImportedAt])
            .into_tuple()
            .all(db)
            .await?;
        imports.sort();
        if *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) == imports {
            return Ok(false);
        }
        let mut years = Icd10CmYears::shipped();
        for set in code_set::Entity::find().filter(code_set::Column::Name.starts_with("icd10cm:")).all(db).await? {
            let Some(year) = set.name.strip_prefix("icd10cm:").and_then(|y| y.parse::<i32>().ok()) else { continue };
            let codes: Vec<(String, bool)> = icd10cm_code::Entity::find()
                .select_only()
                .columns([icd10cm_code::Column::Code, icd10cm_code::Column::Billable])
                .filter(icd10cm_code::Column::FiscalYear.eq(year))
                .into_tuple()
                .all(db)
                .await?;
            let built = Icd10Cm::new(year, set.version.clone(), codes.iter().map(|(c, b)| (c.as_str(), *b)))
                .map_err(|e| DbErr::Custom(format!("imported ICD-10-CM FY{year}: {e}")))?;
            years = years.with(Arc::new(built));
        }
        let mut sets = CodeSets { icd10cm: years, ptp: None, mue: None, hcpcs: None };
        for set in code_set::Entity::find().filter(code_set::Column::Name.is_in([PTP, MUE])).all(db).await? {
            let data = set.data.as_deref().unwrap_or_default();
            let broken = |e: String| DbErr::Custom(format!("the stored {} set: {e}", set.name));
            if set.name == PTP {
                sets.ptp = Some(Arc::new(PtpSet::from_stored(set.version.clone(), data).map_err(broken)?));
            } else {
                sets.mue = Some(Arc::new(MueSet::from_stored(set.version.clone(), data).map_err(broken)?));
            }
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(sets);
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = imports;
        Ok(true)
    }
}

/// Refreshes `cache` every `REFRESH` until `stop` turns true.
pub async fn keep_fresh(
    cache: Arc<CodeSetCache>,
    db: DatabaseConnection,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {
                match cache.refresh(&db).await {
                    Ok(true) => tracing::info!("code sets reloaded after an import"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "code sets could not be reloaded; keeping those loaded"),
                }
            }
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Stores an ICD-10-CM fiscal year from the CDC's order file, replacing that year whole (an
/// import of it before, and the shipped codes for every process that reloads), all or
/// nothing. Returns the codes stored and how many are billable.
pub async fn import_icd10cm(
    db: &DatabaseConnection,
    fiscal_year: i32,
    rows: Vec<OrderRow>,
    source: &str,
) -> Result<(usize, usize), DbErr> {
    let count = rows.len();
    let billable = rows.iter().filter(|r| r.billable).count();
    let txn = crate::db::begin_write(db).await?;
    icd10cm_code::Entity::delete_many().filter(icd10cm_code::Column::FiscalYear.eq(fiscal_year)).exec(&txn).await?;
    let models = rows.into_iter().map(|r| {
        icd10cm_code::ActiveModel::from(icd10cm_code::Model {
            fiscal_year,
            code: r.code,
            billable: r.billable,
            short_description: r.short_description,
            long_description: r.long_description,
        })
    });
    let mut models = models.peekable();
    while models.peek().is_some() {
        let chunk: Vec<_> = models.by_ref().take(crate::sql::rows_per_statement::<icd10cm_code::Entity>()).collect();
        icd10cm_code::Entity::insert_many(chunk).exec_without_returning(&txn).await?;
    }
    let source: String = source.chars().take(200).collect();
    let row = code_set::Model {
        name: icd10cm_name(fiscal_year),
        version: format!("FY{fiscal_year} (imported from {source})"),
        source,
        row_count: count as i32,
        imported_at: crate::sql::now(),
        data: None,
    };
    code_set::Entity::delete_by_id(row.name.clone()).exec(&txn).await?;
    code_set::Entity::insert(code_set::ActiveModel::from(row)).exec_without_returning(&txn).await?;
    txn.commit().await?;
    Ok((count, billable))
}

/// Stores a set kept whole (`PTP` or `MUE`, already built and packed), replacing the one
/// before in one statement pair: a server reloading sees the old set or the new, never a mix.
pub async fn import_whole(
    db: &DatabaseConnection,
    name: &str,
    version: &str,
    source: &str,
    rows: usize,
    data: Vec<u8>,
) -> Result<(), DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let row = code_set::Model {
        name: name.to_owned(),
        version: version.chars().take(255).collect(),
        source: source.chars().take(255).collect(),
        row_count: rows as i32,
        imported_at: crate::sql::now(),
        data: Some(data),
    };
    code_set::Entity::delete_by_id(row.name.clone()).exec(&txn).await?;
    code_set::Entity::insert(code_set::ActiveModel::from(row)).exec_without_returning(&txn).await?;
    txn.commit().await
}
