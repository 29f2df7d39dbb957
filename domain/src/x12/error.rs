use std::fmt;

/// Why a file was refused, and where: the 1-based index of the segment in the file, its id,
/// and the 1-based element position when one element is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdiError {
    pub segment_index: usize,
    pub segment_id: String,
    pub element: Option<usize>,
    pub message: String,
}

impl EdiError {
    pub fn new(segment_index: usize, segment_id: &str, element: Option<usize>, message: impl Into<String>) -> Self {
        Self { segment_index, segment_id: segment_id.to_owned(), element, message: message.into() }
    }
}

impl fmt::Display for EdiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.element {
            Some(e) => write!(f, "segment {} ({}{:02}): {}", self.segment_index, self.segment_id, e, self.message),
            None => write!(f, "segment {} ({}): {}", self.segment_index, self.segment_id, self.message),
        }
    }
}

impl std::error::Error for EdiError {}

/// Something accepted that a careful payer would have sent differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub segment_index: usize,
    pub segment_id: String,
    pub message: String,
}
