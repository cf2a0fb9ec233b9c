//! A member's other particulars: Kore's `userInfo` fields beside the names, the email id and the
//! org user id (company, department, phones, postal address). Free text, kept as given.

use std::collections::BTreeMap;

use super::{ValidationError, bounded};

/// One of the particulars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Detail {
    CompanyName,
    Dept,
    CompanyContactPhone,
    WorkNumber,
    Street,
    SuiteNo,
    City,
    Zip,
    State,
    Country,
}

impl Detail {
    pub const ALL: [Self; 10] = [
        Self::CompanyName,
        Self::Dept,
        Self::CompanyContactPhone,
        Self::WorkNumber,
        Self::Street,
        Self::SuiteNo,
        Self::City,
        Self::Zip,
        Self::State,
        Self::Country,
    ];
    pub const MAX_CHARS: usize = 256;

    /// The name it is stored under.
    pub fn name(self) -> &'static str {
        match self {
            Self::CompanyName => "company_name",
            Self::Dept => "dept",
            Self::CompanyContactPhone => "company_contact_phone",
            Self::WorkNumber => "work_number",
            Self::Street => "street",
            Self::SuiteNo => "suite_no",
            Self::City => "city",
            Self::Zip => "zip",
            Self::State => "state",
            Self::Country => "country",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The field a refusal names.
    pub fn field(self) -> &'static str {
        match self {
            Self::CompanyName => "info.company_name",
            Self::Dept => "info.dept",
            Self::CompanyContactPhone => "info.company_contact_phone",
            Self::WorkNumber => "info.work_number",
            Self::Street => "info.street",
            Self::SuiteNo => "info.suite_no",
            Self::City => "info.city",
            Self::Zip => "info.zip",
            Self::State => "info.state",
            Self::Country => "info.country",
        }
    }

    /// A value of this particular; `None` when absent or empty (Kore clients send `""` for none).
    pub fn parse_value(self, value: Option<String>) -> Result<Option<String>, ValidationError> {
        value.filter(|v| !v.is_empty()).map(|v| bounded(self.field(), v, Self::MAX_CHARS)).transpose()
    }
}

/// The particulars a member has; absent ones are not kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Details(BTreeMap<Detail, String>);

impl Details {
    pub fn parse(values: impl IntoIterator<Item = (Detail, Option<String>)>) -> Result<Self, ValidationError> {
        let mut details = Self::default();
        for (detail, value) in values {
            details.set(detail, detail.parse_value(value)?);
        }
        Ok(details)
    }

    pub fn get(&self, detail: Detail) -> Option<&str> {
        self.0.get(&detail).map(String::as_str)
    }

    /// Sets a value `Detail::parse_value` made, or removes the particular with `None`.
    pub fn set(&mut self, detail: Detail, value: Option<String>) {
        match value {
            Some(value) => self.0.insert(detail, value),
            None => self.0.remove(&detail),
        };
    }

    pub fn iter(&self) -> impl Iterator<Item = (Detail, &str)> {
        self.0.iter().map(|(d, v)| (*d, v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn particulars_are_bounded_and_empty_means_absent() {
        let details = Details::parse([
            (Detail::City, Some("Lisboa".into())),
            (Detail::Zip, Some(String::new())),
            (Detail::Dept, None),
        ])
        .unwrap();
        assert_eq!(details.iter().collect::<Vec<_>>(), [(Detail::City, "Lisboa")]);
        assert!(Detail::Street.parse_value(Some("s".repeat(256))).unwrap().is_some());
        assert_eq!(
            Detail::Street.parse_value(Some("s".repeat(257))),
            Err(ValidationError::TooLong { field: "info.street", max: 256 })
        );
        assert_eq!(Detail::Zip.parse_value(Some("1\0".into())).unwrap_err().field(), "info.zip");
        for detail in Detail::ALL {
            assert_eq!(Detail::from_name(detail.name()), Some(detail));
            assert_eq!(detail.field().strip_prefix("info."), Some(detail.name()));
        }
    }
}
