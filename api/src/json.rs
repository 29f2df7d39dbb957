//! Reading JSON bodies with errors that name the offending field.

use actix_web::HttpRequest;
use actix_web::http::header;
use chrono::{Datelike as _, NaiveDate};
use overturn_domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Parses a request body as JSON into `T`.
///
/// Syntax errors are a plain 400; type errors and missing fields become a validation
/// problem naming the JSON path (`lines[0].charge`), which is what a client needs to fix it.
pub fn parse_body<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let (content_type, essence) = media_type(req);
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the body as application/json (got {:?})",
            if content_type.is_empty() { "no Content-Type" } else { content_type }
        )));
    }
    if body.is_empty() {
        return Err(ApiError::BadRequest("the request body is empty; a JSON object is expected".into()));
    }
    // serde reads a struct from an array of its fields in order; every body here is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|&b| b != b'{') {
        return Err(ApiError::BadRequest("the body must be a JSON object".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest(format!("the body is not valid JSON: {inner}"));
        }
        ApiError::validation(vec![field_error(&path, &inner)])
    })?;
    de.end().map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// The request's Content-Type as sent (for messages) and its lower-cased media type without
/// parameters ("application/json" of "Application/JSON; charset=utf-8").
pub fn media_type(req: &HttpRequest) -> (&str, String) {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    (content_type, content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// serde reports a missing field at its parent's path; name the field itself instead.
fn field_error(path: &str, err: &serde_json::Error) -> FieldError {
    let message = strip_position(&err.to_string());
    if let Some(name) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        let field = if path == "." || path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        return FieldError::new(field, "is required");
    }
    if message.starts_with("unknown field `") {
        // Here serde's path already ends in the unknown key.
        return FieldError::new(path, "is not a field of this request");
    }
    let field = if path == "." { "body".to_owned() } else { path.to_owned() };
    FieldError::new(field, message)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Collects every problem instead of stopping at the first, so a client fixes a claim in one go.
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn take<T, E: std::fmt::Display>(&mut self, field: impl Into<String>, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError::new(field, e.to_string()));
                None
            }
        }
    }
}

/// The longest note a denial or follow-up takes.
pub const MAX_NOTE: usize = 4000;

/// A note: trimmed, empty meaning none, at most `MAX_NOTE` characters, and text only.
pub fn parse_note(text: Option<&str>, errors: &mut Errors) -> Option<String> {
    match text.map(str::trim) {
        None | Some("") => None,
        Some(n) if n.chars().count() > MAX_NOTE => {
            errors.0.push(FieldError::new("note", format!("must be at most {MAX_NOTE} characters")));
            None
        }
        // Line breaks and tabs are text; NUL and other control characters are not (PostgreSQL
        // cannot even store NUL).
        Some(n) if n.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) => {
            errors
                .0
                .push(FieldError::new("note", "must not contain control characters other than line breaks and tabs"));
            None
        }
        Some(n) => Some(n.to_owned()),
    }
}

/// Who to assign work to: 1 to 100 printable characters, or null to unassign (`Some(None)`);
/// `None` when refused.
pub fn parse_assignee(text: Option<&str>, errors: &mut Errors) -> Option<Option<String>> {
    match text.map(str::trim) {
        None => Some(None),
        Some(a) if a.is_empty() || a.chars().count() > 100 || a.chars().any(char::is_control) => {
            errors.0.push(FieldError::new("assignee", "must be 1 to 100 printable characters, or null to unassign"));
            None
        }
        Some(a) => Some(Some(a.to_owned())),
    }
}

/// A date in the contract's exact form, YYYY-MM-DD, from 1900 on.
pub fn parse_date(text: &str) -> Result<NaiveDate, &'static str> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "must be a date YYYY-MM-DD")?;
    // chrono accepts 5-digit years and unpadded fields; the contract's form is exact.
    if text.len() != 10 {
        return Err("must be a date YYYY-MM-DD");
    }
    if date.year_ce().1 < 1900 {
        return Err("must not be before 1900");
    }
    Ok(date)
}
