//! SQL helpers shared by the API and the workers: timestamps at the stored precision and
//! bulk inserts that stay fast for the hundred thousand rows of a large remittance.

/// Key of the PostgreSQL advisory lock between matching payments and creating claims ("OVRT835M").
pub(crate) const MATCH_LOCK: i64 = 0x4F56_5254_3833_354D;

/// Takes the matching lock for the rest of the transaction (PostgreSQL; SQLite has one writer).
pub async fn lock_matching<C: sea_orm::ConnectionTrait>(txn: &C, exclusive: bool) -> Result<(), sea_orm::DbErr> {
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        let function = if exclusive { "pg_advisory_xact_lock" } else { "pg_advisory_xact_lock_shared" };
        txn.execute_unprepared(&format!("SELECT {function}({MATCH_LOCK})")).await?;
    }
    Ok(())
}

/// `column IN (values)` for a long list: on PostgreSQL `= ANY($1)` with one array parameter
/// (twenty thousand separate parameters cost more to parse and plan than to look up).
pub fn any_of<C, T>(
    backend: sea_orm::DbBackend,
    column: C,
    kind: sea_orm::sea_query::ArrayType,
    values: &[T],
) -> sea_orm::sea_query::SimpleExpr
where
    C: sea_orm::ColumnTrait,
    T: Clone + Into<sea_orm::Value>,
{
    if backend == sea_orm::DbBackend::Postgres {
        use sea_orm::sea_query::extension::postgres::PgFunc;
        let array = sea_orm::Value::Array(kind, Some(Box::new(values.iter().cloned().map(Into::into).collect())));
        sea_orm::sea_query::ExprTrait::eq(
            sea_orm::sea_query::Expr::col(column.as_column_ref()),
            PgFunc::any(sea_orm::sea_query::Expr::val(array)),
        )
    } else {
        column.is_in(values.iter().cloned())
    }
}

/// The first `per_group` rows of `table` for each of `groups` (values of `group_column`, UUIDs),
/// in `order` within each group, each row with the size of its whole group as `group_total`:
/// a claim with ten thousand denials shows a hundred of them and says how many there are.
pub async fn first_per_group<C: sea_orm::ConnectionTrait>(
    db: &C,
    table: &str,
    group_column: &str,
    order: &str,
    groups: &[uuid::Uuid],
    per_group: u64,
) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
    use sea_orm::{DbBackend, Statement, Value};
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for chunk in groups.chunks(MAX_PARAMS - 1) {
        let (filter, mut values): (String, Vec<Value>) = if backend == DbBackend::Postgres {
            let array = Value::Array(
                sea_orm::sea_query::ArrayType::Uuid,
                Some(Box::new(chunk.iter().copied().map(Value::from).collect())),
            );
            (format!("{group_column} = ANY($1)"), vec![array])
        } else {
            let marks = vec!["?"; chunk.len()].join(", ");
            (format!("{group_column} IN ({marks})"), chunk.iter().copied().map(Value::from).collect())
        };
        values.push(Value::from(per_group as i64));
        let limit = placeholder(backend, values.len());
        let sql = format!(
            "SELECT * FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY {group_column} ORDER BY {order}) AS group_row, \
             COUNT(*) OVER (PARTITION BY {group_column}) AS group_total FROM {table} t WHERE {filter}) x \
             WHERE group_row <= {limit} ORDER BY {group_column}, group_row"
        );
        out.extend(db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?);
    }
    Ok(out)
}

/// The current UTC time at the precision both backends store (PostgreSQL keeps
/// microseconds), so a value returned at creation equals the one read back later.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// The `n`th (1-based) bound parameter of a raw statement: `$n` on PostgreSQL, `?` on SQLite,
/// whose bare `?` bind in text order (so a statement must place them in the order of its values).
pub fn placeholder(backend: sea_orm::DbBackend, n: usize) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Bound parameters per statement, under SQLite's 32,766 and PostgreSQL's 65,535.
pub const MAX_PARAMS: usize = 30_000;

/// Rows of entity `E` that fit in one statement's bound parameters.
pub fn rows_per_statement<E: sea_orm::EntityTrait>() -> usize {
    use sea_orm::Iterable;
    (MAX_PARAMS / E::Column::iter().count()).max(1)
}

/// A column `insert_rows` writes: its name, PostgreSQL type and whether it takes NULL.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub pg_type: &'static str,
    pub nullable: bool,
}

impl Column {
    pub const fn new(name: &'static str, pg_type: &'static str) -> Self {
        Self { name, pg_type, nullable: false }
    }

    pub const fn nullable(name: &'static str, pg_type: &'static str) -> Self {
        Self { name, pg_type, nullable: true }
    }

    /// Nullable and JSON columns cross to PostgreSQL as text and are cast there.
    fn as_text(&self) -> bool {
        self.nullable || self.pg_type == "json" || self.pg_type == "jsonb"
    }
}

/// Inserts many rows, built here rather than by the query builder, whose per-value
/// bookkeeping costs more than the database does for the twenty thousand rows of a large
/// remittance. `values` holds the rows one after the other, in `columns` order.
///
/// SQLite gets multi-row `VALUES` with bare `?` (sqlx resolves numbered placeholders by
/// name, a scan per parameter: quadratic in a big statement). PostgreSQL gets one text
/// array per column and `UNNEST`: a handful of parameters instead of tens of thousands,
/// which it would otherwise parse and plan one by one. Arrays cannot carry NULL through
/// sqlx, so an empty string stands for NULL in nullable columns.
pub async fn insert_rows<C: sea_orm::ConnectionTrait>(
    db: &C,
    table: &str,
    columns: &[Column],
    values: Vec<sea_orm::Value>,
) -> Result<(), sea_orm::DbErr> {
    insert(db, table, columns, values, "").await
}

/// `insert_rows`, skipping rows that collide with a unique key already stored: how a job
/// that runs twice writes each row once.
pub async fn insert_rows_if_absent<C: sea_orm::ConnectionTrait>(
    db: &C,
    table: &str,
    columns: &[Column],
    values: Vec<sea_orm::Value>,
) -> Result<(), sea_orm::DbErr> {
    insert(db, table, columns, values, " ON CONFLICT DO NOTHING").await
}

async fn insert<C: sea_orm::ConnectionTrait>(
    db: &C,
    table: &str,
    columns: &[Column],
    values: Vec<sea_orm::Value>,
    suffix: &str,
) -> Result<(), sea_orm::DbErr> {
    let backend = db.get_database_backend();
    for (sql, values) in insert_statements(backend, table, columns, values, suffix, 1)? {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    Ok(())
}

/// The statements `insert_rows` runs, each with its values; on PostgreSQL the first
/// placeholder is `$first_param`, so that they can sit inside a larger statement.
fn insert_statements(
    backend: sea_orm::DbBackend,
    table: &str,
    columns: &[Column],
    values: Vec<sea_orm::Value>,
    suffix: &str,
    first_param: usize,
) -> Result<Vec<(String, Vec<sea_orm::Value>)>, sea_orm::DbErr> {
    use sea_orm::DbBackend;
    let width = columns.len();
    let mut out = Vec::new();
    if width == 0 || values.is_empty() {
        return Ok(out);
    }
    debug_assert_eq!(values.len() % width, 0, "whole rows only");
    let names = columns.iter().map(|c| format!("\"{}\"", c.name)).collect::<Vec<_>>().join(", ");
    if backend == DbBackend::Postgres {
        let arrays = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}[]", first_param + i, if c.as_text() { "text" } else { c.pg_type }))
            .collect::<Vec<_>>()
            .join(", ");
        let aliases = (1..=width).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", ");
        let casts = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let n = i + 1;
                if c.nullable {
                    format!("NULLIF(u.c{n}, '')::{}", c.pg_type)
                } else if c.as_text() {
                    format!("u.c{n}::{}", c.pg_type)
                } else {
                    format!("u.c{n}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("INSERT INTO \"{table}\" ({names}) SELECT {casts} FROM UNNEST({arrays}) AS u({aliases}){suffix}");
        let rows_per_statement = 10_000;
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let size = rows_per_statement.min(values.len() / width);
            let mut by_column: Vec<Vec<sea_orm::Value>> = (0..width).map(|_| Vec::with_capacity(size)).collect();
            for (i, value) in values.by_ref().take(rows_per_statement * width).enumerate() {
                let column = &columns[i % width];
                // Most columns travel as typed arrays; nullable and JSON ones as text.
                if !column.as_text() {
                    if !value.is_some() {
                        return Err(sea_orm::DbErr::Custom(format!("{table}.{} cannot be NULL", column.name)));
                    }
                    by_column[i % width].push(value);
                    continue;
                }
                let text = match value_text(value) {
                    Ok(Some(text)) => text,
                    Ok(None) if column.nullable => String::new(),
                    Ok(None) => {
                        return Err(sea_orm::DbErr::Custom(format!("{table}.{} cannot be NULL", column.name)));
                    }
                    Err(kind) => {
                        return Err(sea_orm::DbErr::Custom(format!(
                            "{table}.{}: cannot bulk-insert {kind}",
                            column.name
                        )));
                    }
                };
                by_column[i % width].push(sea_orm::Value::String(Some(text)));
            }
            let mut params = Vec::with_capacity(width);
            for (column, values) in columns.iter().zip(by_column) {
                let kind = if column.as_text() {
                    sea_orm::sea_query::ArrayType::String
                } else {
                    array_type(column.pg_type).ok_or_else(|| {
                        sea_orm::DbErr::Custom(format!("{table}.{}: no array type for {}", column.name, column.pg_type))
                    })?
                };
                params.push(sea_orm::Value::Array(kind, Some(Box::new(values))));
            }
            out.push((sql.clone(), params));
        }
        return Ok(out);
    }
    let head = format!("INSERT INTO \"{table}\" ({names}) VALUES ");
    let row = format!("({})", vec!["?"; width].join(", "));
    let rows_per_statement = (MAX_PARAMS / width).max(1);
    let mut values = values.into_iter().peekable();
    while values.peek().is_some() {
        let chunk: Vec<sea_orm::Value> = values.by_ref().take(rows_per_statement * width).collect();
        let rows = chunk.len() / width;
        let mut sql = String::with_capacity(head.len() + rows * (row.len() + 2));
        sql.push_str(&head);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&row);
        }
        sql.push_str(suffix);
        out.push((sql, chunk));
    }
    Ok(out)
}

/// Inserts and one final query sent to the database as a single statement: one round trip
/// (PostgreSQL) or one hand-off to SQLite's worker thread, where separate statements would
/// each pay their own. PostgreSQL gets the inserts as data-modifying `WITH` parts of the
/// query; SQLite gets them as statements before it in one string (sqlx runs them in order and
/// binds bare `?` across them in text order). The query does not see the rows inserted with
/// it on PostgreSQL, so it must not be about them.
pub struct OneTrip {
    backend: sea_orm::DbBackend,
    inserts: Vec<String>,
    values: Vec<sea_orm::Value>,
}

impl OneTrip {
    pub fn new(backend: sea_orm::DbBackend) -> Self {
        Self { backend, inserts: Vec::new(), values: Vec::new() }
    }

    pub fn backend(&self) -> sea_orm::DbBackend {
        self.backend
    }

    /// Adds the rows of `insert_rows`.
    pub fn insert(
        &mut self,
        table: &str,
        columns: &[Column],
        values: Vec<sea_orm::Value>,
    ) -> Result<(), sea_orm::DbErr> {
        for (sql, values) in insert_statements(self.backend, table, columns, values, "", self.values.len() + 1)? {
            self.inserts.push(sql);
            self.values.extend(values);
        }
        Ok(())
    }

    /// Adds a data-modifying statement (an `UPDATE` or `INSERT … SELECT`) whose placeholders
    /// start at `self.placeholder(0)`; on PostgreSQL it is the `WITH` part named
    /// `self.next_name()`, which later parts may read when it says `RETURNING`.
    pub fn statement(&mut self, sql: String, values: Vec<sea_orm::Value>) {
        self.inserts.push(sql);
        self.values.extend(values);
    }

    /// The name the next part gets in PostgreSQL's `WITH`.
    pub fn next_name(&self) -> String {
        format!("w{}", self.inserts.len())
    }

    /// The placeholder of the next value the final query binds.
    pub fn placeholder(&self, extra: usize) -> String {
        placeholder(self.backend, self.values.len() + 1 + extra)
    }

    /// The whole statement, `query` last; `values` are the query's own, in its placeholder order.
    pub fn then_query(mut self, query: &str, values: Vec<sea_orm::Value>) -> sea_orm::Statement {
        let sql = if self.inserts.is_empty() {
            query.to_owned()
        } else if self.backend == sea_orm::DbBackend::Postgres {
            let parts = self
                .inserts
                .iter()
                .enumerate()
                .map(|(i, sql)| format!("w{i} AS ({sql})"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("WITH {parts} {query}")
        } else {
            format!("{}; {query}", self.inserts.join("; "))
        };
        self.values.extend(values);
        sea_orm::Statement::from_sql_and_values(self.backend, sql, self.values)
    }
}

fn array_type(pg_type: &str) -> Option<sea_orm::sea_query::ArrayType> {
    use sea_orm::sea_query::ArrayType;
    Some(match pg_type {
        "uuid" => ArrayType::Uuid,
        "int4" => ArrayType::Int,
        "int8" => ArrayType::BigInt,
        "bool" => ArrayType::Bool,
        "text" => ArrayType::String,
        "date" => ArrayType::ChronoDate,
        "timestamptz" => ArrayType::ChronoDateTimeUtc,
        "bytea" => ArrayType::Bytes,
        _ => return None,
    })
}

/// PostgreSQL's text form of a value `insert_rows` binds; `None` for NULL.
fn value_text(value: sea_orm::Value) -> Result<Option<String>, String> {
    use sea_orm::Value;
    Ok(match value {
        Value::String(s) => s,
        Value::Uuid(u) => u.map(|u| u.to_string()),
        Value::Int(n) => n.map(|n| n.to_string()),
        Value::BigInt(n) => n.map(|n| n.to_string()),
        Value::SmallInt(n) => n.map(|n| n.to_string()),
        Value::Bool(b) => b.map(|b| b.to_string()),
        Value::ChronoDate(d) => d.map(|d| d.format("%Y-%m-%d").to_string()),
        Value::ChronoDateTimeUtc(t) => t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        Value::Json(j) => j.map(|j| j.to_string()),
        other => return Err(format!("{other:?}")),
    })
}
