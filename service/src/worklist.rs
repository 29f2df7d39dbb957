//! What the denial and follow-up worklists share.

/// Who a listed item is assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    Named(String),
}

impl AssigneeFilter {
    /// The `assignee` parameter: `none` for unassigned items, else a name; empty is no filter.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "" => None,
            "none" => Some(Self::Nobody),
            name => Some(Self::Named(name.to_owned())),
        }
    }
}
