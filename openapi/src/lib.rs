//! The committed OpenAPI document (`openapi/openapi.json`) and the generator that writes it.
//!
//! The document is generated from the API's handlers and types; committing it lets
//! reviewers see contract changes in diffs, and a test fails when the two drift apart.

use std::path::PathBuf;

/// The document as the code describes it today, pretty-printed with a trailing newline.
pub fn generate() -> String {
    let doc = overturn_api::openapi::document();
    let mut text = serde_json::to_string_pretty(&doc).expect("an OpenAPI document always serializes");
    text.push('\n');
    text
}

/// Where the committed copy lives.
pub fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}
