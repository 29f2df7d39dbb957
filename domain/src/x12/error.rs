use std::fmt;

/// Why a file was refused, and where: the 1-based index of the segment in the file, its id,
/// and the 1-based element position when one element is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdiError {
    pub segment_index: usize,
    pub segment_id: String,
    pub element: Option<usize>,
    pub message: String,
    /// What kind of fault, as an acknowledgment (999 IK3/IK4) reports it.
    pub fault: Fault,
}

/// The kinds of fault an implementation acknowledgment tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// An element holds a value that is not allowed (or a rule across elements fails).
    #[default]
    Invalid,
    /// A required element is empty.
    Missing,
    /// An element is not a valid date.
    InvalidDate,
    /// A required segment is not there (the error names the segment found in its place).
    MissingSegment,
    /// A segment the transaction defines, where it does not belong.
    UnexpectedSegment,
    /// A segment id the transaction does not define.
    UnknownSegment,
}

/// The most of a segment id and of a message an error keeps. Messages quote the offending
/// value, and a value or a malformed segment can be megabytes long: an error names its place
/// and shows an excerpt, never the whole of it (a 2 MB segment once made a 6 MB answer).
const MAX_SEGMENT_ID: usize = 16;
const MAX_MESSAGE: usize = 400;

impl EdiError {
    pub fn new(segment_index: usize, segment_id: &str, element: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            segment_index,
            segment_id: excerpt(segment_id, MAX_SEGMENT_ID),
            element,
            message: excerpt(&message.into(), MAX_MESSAGE),
            fault: Fault::Invalid,
        }
    }

    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }
}

impl Warning {
    /// Bounded as errors are (`EdiError::new`).
    pub fn new(segment_index: usize, segment_id: &str, message: impl Into<String>) -> Self {
        Self {
            segment_index,
            segment_id: excerpt(segment_id, MAX_SEGMENT_ID),
            message: excerpt(&message.into(), MAX_MESSAGE),
        }
    }
}

/// `text` if it has at most `max` characters; otherwise its start and end around a note of how
/// much was left out (the end of a message says what is wrong with the value quoted before it).
fn excerpt(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let keep = max / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(count - keep).collect();
    format!("{head}…({} characters left out)…{tail}", count - 2 * keep)
}

#[cfg(test)]
mod tests {
    use super::EdiError;

    #[test]
    fn errors_quote_an_excerpt_of_what_they_name() {
        let huge = "A".repeat(2_000_000);
        let e = EdiError::new(7, &huge, Some(2), format!("{huge:?} is not a date CCYYMMDD"));
        assert!(e.segment_id.chars().count() < 60, "{}", e.segment_id.len());
        assert!(e.message.chars().count() < 500, "{}", e.message.len());
        assert!(e.message.ends_with("is not a date CCYYMMDD") && e.message.starts_with("\"AAA"), "{}", e.message);
        assert!(e.message.contains("characters left out"), "{}", e.message);
        let short = EdiError::new(3, "DTM", Some(2), "\"2024\" is not a date CCYYMMDD");
        assert_eq!((short.segment_id.as_str(), short.message.as_str()), ("DTM", "\"2024\" is not a date CCYYMMDD"));
        // Multi-byte characters are cut at character boundaries.
        let e = EdiError::new(1, "ÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉ", None, "é".repeat(1_000));
        assert!(e.segment_id.starts_with('É') && e.message.ends_with('é'));
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

/// A segment reader's error, boxed so that the segment it otherwise returns stays small.
impl From<Box<EdiError>> for EdiError {
    fn from(e: Box<EdiError>) -> Self {
        *e
    }
}
