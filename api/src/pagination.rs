//! Cursor pagination shared by every list: `?limit=` and an opaque `?cursor=`.
//!
//! Rows are walked in the order of their UUIDv7 ids (time-ordered), and the cursor is the
//! last id of a page, so a page never repeats or skips rows that were inserted meanwhile.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use overturn_domain::FieldError;
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 500;
const CURSOR_VERSION: u8 = 1;

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: u64,
    /// Continue after this id (exclusive), in the list's order.
    pub after: Option<Uuid>,
}

impl Page {
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let limit = parse_limit(limit).unwrap_or_else(|e| {
            errors.push(e);
            DEFAULT_LIMIT
        });
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(text) => match decode_cursor(text) {
                Some(id) => Some(id),
                None => {
                    errors.push(FieldError::new("cursor", "is not a cursor returned by this list"));
                    None
                }
            },
        };
        if errors.is_empty() { Ok(Self { limit, after }) } else { Err(ApiError::validation(errors)) }
    }

    /// Given up to `limit + 1` rows fetched, keeps `limit` and says where the next page starts.
    pub fn finish<T>(&self, mut rows: Vec<T>, id_of: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<String>) {
        if rows.len() as u64 > self.limit {
            rows.truncate(self.limit as usize);
            let next = rows.last().map(|r| encode_cursor(id_of(r)));
            (rows, next)
        } else {
            (rows, None)
        }
    }

    pub fn fetch_limit(&self) -> u64 {
        self.limit + 1
    }
}

/// `?limit=`: 1 to `MAX_LIMIT`, `DEFAULT_LIMIT` when absent. Unlike a filter, an empty
/// `limit=` is refused: the document states a number, and none is not one.
pub fn parse_limit(limit: Option<&str>) -> Result<u64, FieldError> {
    match limit.map(str::parse::<u64>) {
        None => Ok(DEFAULT_LIMIT),
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(FieldError::new("limit", format!("must be from 1 to {MAX_LIMIT}"))),
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    let mut bytes = Vec::with_capacity(17);
    bytes.push(CURSOR_VERSION);
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(text: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    match bytes.split_first() {
        Some((&CURSOR_VERSION, id)) => Uuid::from_slice(id).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert_eq!(decode_cursor("not-a-cursor"), None);
        assert_eq!(decode_cursor(""), None);
        assert!(Page::parse(Some("0"), None).is_err());
        assert!(Page::parse(Some("501"), None).is_err());
        assert!(Page::parse(Some("ten"), None).is_err());
        assert!(Page::parse(Some(""), None).is_err());
        assert_eq!(Page::parse(Some("500"), None).unwrap().limit, 500);
        assert_eq!(Page::parse(None, None).unwrap().limit, 50);
    }

    #[test]
    fn finish_cuts_at_the_limit() {
        let page = Page { limit: 2, after: None };
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let (rows, next) = page.finish(ids.clone(), |id| *id);
        assert_eq!(rows, ids[..2]);
        assert_eq!(next, Some(encode_cursor(ids[1])));
        let (rows, next) = page.finish(ids[..2].to_vec(), |id| *id);
        assert_eq!(rows.len(), 2);
        assert_eq!(next, None);
    }
}

/// Where a page of a list sorted on a key ends: the order it was read in, the last row's
/// key and id (the tie-break).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyedCursor {
    pub sort: u8,
    pub key: i64,
    pub id: Uuid,
}

const KEYED_CURSOR_VERSION: u8 = 2;

impl KeyedCursor {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(26);
        bytes.push(KEYED_CURSOR_VERSION);
        bytes.push(self.sort);
        bytes.extend_from_slice(&self.key.to_be_bytes());
        bytes.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        if bytes.len() != 26 || bytes[0] != KEYED_CURSOR_VERSION {
            return None;
        }
        let key = i64::from_be_bytes(bytes[2..10].try_into().ok()?);
        Some(Self { sort: bytes[1], key, id: Uuid::from_slice(&bytes[10..]).ok()? })
    }
}
