//! A user's profile as Sunshine and Ada carry it: names, email, language. The display name and
//! the avatar are the user's `nickname` and `profile_url` (`User`), one value each whichever
//! dialect reads or writes it.

use super::{ValidationError, bounded};

/// Every field optional; limits as the strictest dialect (Sunshine) sets them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
}

impl Profile {
    pub const MAX_NAME_CHARS: usize = 128;
    pub const MAX_EMAIL_CHARS: usize = 128;
    pub const MAX_LANGUAGE_CHARS: usize = 64;

    /// Empty strings count as absent, so "clearing" a field never stores `""`.
    pub fn parse(
        given_name: Option<String>,
        surname: Option<String>,
        email: Option<String>,
        language: Option<String>,
    ) -> Result<Self, ValidationError> {
        let present = |v: Option<String>| v.filter(|s| !s.is_empty());
        Ok(Self {
            given_name: Self::parse_name("given_name", given_name)?,
            surname: Self::parse_name("surname", surname)?,
            email: present(email).map(|e| parse_email("email", e)).transpose()?,
            language: present(language)
                .map(|l| bounded("language", l, Self::MAX_LANGUAGE_CHARS))
                .transpose()?
                .map(|l| platform::validation::language_tag("language", l))
                .transpose()?,
        })
    }

    /// A given name, surname or display name; `None` when absent or empty.
    pub fn parse_name(field: &'static str, value: Option<String>) -> Result<Option<String>, ValidationError> {
        value.filter(|s| !s.is_empty()).map(|v| bounded(field, v, Self::MAX_NAME_CHARS)).transpose()
    }
}

/// An address of the form `local@domain.tld`: one `@`, a local part of at most 64 characters
/// without spaces or controls, a domain of dot-separated labels of letters, digits and hyphens.
pub(super) fn parse_email(field: &'static str, value: String) -> Result<String, ValidationError> {
    let value = bounded(field, value, Profile::MAX_EMAIL_CHARS)?;
    let invalid = ValidationError::Invalid { field, reason: "must be an email address" };
    let Some((local, domain)) = value.split_once('@') else {
        return Err(invalid);
    };
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && !local.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@')
        && !local.starts_with('.')
        && !local.ends_with('.');
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok { Ok(value) } else { Err(invalid) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Result<String, ValidationError> {
        parse_email("email", s.to_owned())
    }

    #[test]
    fn emails() {
        for ok in ["maria@example.com", "a.b+tag@sub.example.co.kr", "ü@bücher.de"] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "maria",
            "@example.com",
            "maria@",
            "maria@example",
            "ma ria@example.com",
            "a@b@c.com",
            "a@-x.com",
            "a@x..com",
            ".a@x.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(email(&format!("{}@example.com", "a".repeat(120))).is_err(), "over 128 characters");
    }

    #[test]
    fn empty_fields_are_absent_and_limits_hold() {
        let p = Profile::parse(Some(String::new()), None, None, Some("pt-BR".into())).expect("valid");
        assert_eq!((p.given_name, p.language.as_deref()), (None, Some("pt-BR")));
        assert!(Profile::parse(Some("g".repeat(129)), None, None, None).is_err());
        assert!(Profile::parse(None, None, None, Some("not a tag".into())).is_err());
    }
}
