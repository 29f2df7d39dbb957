//! Status columns typed as the domain's enums.
//!
//! Each status is a text column holding the name `domain` gives it (`"partially_paid"`), so
//! SQL written by hand (filters, reports, bulk updates) reads the same values a model does.
//! A model field is `Stored<ClaimStatus>` rather than `String`: reading a row yields the enum
//! or an error naming the column type and the value, never an unchecked string, and writing
//! one takes only a value the domain knows.

use std::fmt;
use std::ops::Deref;

use overturn_domain::ClaimStatus;
use overturn_domain::denial_workflow::DenialStatus;
use overturn_domain::followups::FollowUpStatus;
use overturn_domain::webhooks::DeliveryStatus;
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, StringLen, ValueType, ValueTypeErr};
use sea_orm::{ActiveValue, ColIdx, DbErr, IntoActiveValue, QueryResult, TryGetError, TryGetable, Value};

/// A domain enum stored by name.
pub trait StoredName: Copy + fmt::Debug + PartialEq + Eq + Send + Sync + 'static {
    /// For errors: what kind of value failed to read.
    const TYPE: &'static str;
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! stored_by_name {
    ($($ty:ty),* $(,)?) => {$(
        impl StoredName for $ty {
            const TYPE: &'static str = stringify!($ty);
            fn name(self) -> &'static str {
                self.as_str()
            }
            fn from_name(name: &str) -> Option<Self> {
                <$ty>::parse(name)
            }
        }
    )*};
}

stored_by_name!(ClaimStatus, DenialStatus, FollowUpStatus, DeliveryStatus);

/// A column holding `T` by name; derefs to `T`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stored<T>(pub T);

impl<T> Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: StoredName> From<T> for Stored<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: StoredName> fmt::Display for Stored<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// A stored name the domain does not know: a row written by something other than Overturn,
/// or by a newer version that added a status.
#[derive(Debug, thiserror::Error)]
#[error("{type_name} has no value named {name:?}")]
pub struct UnknownName {
    pub type_name: &'static str,
    pub name: String,
}

impl<T: StoredName> Stored<T> {
    pub fn parse(name: &str) -> Result<Self, UnknownName> {
        T::from_name(name).map(Self).ok_or_else(|| UnknownName { type_name: T::TYPE, name: name.to_owned() })
    }
}

impl<T: StoredName> From<Stored<T>> for Value {
    fn from(value: Stored<T>) -> Self {
        Value::from(value.0.name())
    }
}

impl<T: StoredName> TryGetable for Stored<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        let name = String::try_get_by(res, index)?;
        Self::parse(&name).map_err(|e| {
            TryGetError::DbErr(DbErr::TryIntoErr { from: "String", into: T::TYPE, source: std::sync::Arc::new(e) })
        })
    }
}

impl<T: StoredName> ValueType for Stored<T> {
    fn try_from(value: Value) -> Result<Self, ValueTypeErr> {
        let name = <String as ValueType>::try_from(value)?;
        Self::parse(&name).map_err(|_| ValueTypeErr)
    }

    fn type_name() -> String {
        T::TYPE.to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::String
    }

    fn column_type() -> ColumnType {
        ColumnType::String(StringLen::None)
    }
}

impl<T: StoredName> Nullable for Stored<T> {
    fn null() -> Value {
        Value::String(None)
    }
}

impl<T: StoredName> IntoActiveValue<Stored<T>> for Stored<T> {
    fn into_active_value(self) -> ActiveValue<Stored<T>> {
        ActiveValue::Set(self)
    }
}

impl<T: StoredName> sea_orm::sea_query::postgres_array::NotU8 for Stored<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: StoredName>(all: &[T]) {
        for &value in all {
            let stored = Value::from(Stored(value));
            assert_eq!(<Stored<T> as ValueType>::try_from(stored).ok(), Some(Stored(value)));
        }
        assert!(Stored::<T>::parse("no_such_status").is_err());
        assert!(<Stored<T> as ValueType>::try_from(Value::from("no_such_status")).is_err());
    }

    #[test]
    fn every_status_is_written_and_read_back_by_its_name() {
        round_trip(&ClaimStatus::ALL);
        round_trip(&DenialStatus::ALL);
        round_trip(&FollowUpStatus::ALL);
        round_trip(&DeliveryStatus::ALL);
        assert_eq!(Value::from(Stored(ClaimStatus::PartiallyPaid)), Value::from("partially_paid"));
    }

    #[test]
    fn an_unknown_name_says_which_type_it_is_not() {
        let err = Stored::<DenialStatus>::parse("reopened").unwrap_err();
        assert_eq!(err.to_string(), "DenialStatus has no value named \"reopened\"");
    }
}
