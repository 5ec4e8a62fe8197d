//! Which values are encrypted: the six partial-encryption rules (`sops.go: shouldBeEncrypted`).

use std::fmt;

use regex::Regex;

/// The suffix sops assumes when no rule is set.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// A rule's regular expression is not valid.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The pattern does not compile.
    #[error("invalid {field}: {message}")]
    BadRegex {
        /// The metadata/config field name.
        field: &'static str,
        /// The compiler's message.
        message: String,
    },
    /// More than one rule was given; sops allows at most one.
    #[error(
        "cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, \
         unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex ({0} given)"
    )]
    Conflicting(usize),
}

/// One partial-encryption rule. At most one is in force per file.
#[derive(Clone)]
#[non_exhaustive]
pub enum CryptRule {
    /// Values whose path has a key ending with the suffix stay plain.
    UnencryptedSuffix(String),
    /// Only values whose path has a key ending with the suffix are encrypted.
    EncryptedSuffix(String),
    /// Values whose path has a key matching stay plain.
    UnencryptedRegex(Regex),
    /// Only values whose path has a key matching are encrypted.
    EncryptedRegex(Regex),
    /// Values after a comment matching (at any enclosing level) stay plain.
    UnencryptedCommentRegex(Regex),
    /// Only values after a comment matching are encrypted.
    EncryptedCommentRegex(Regex),
}

impl CryptRule {
    /// The metadata field names, in sops' emission order.
    pub const FIELDS: [&'static str; 6] = [
        "unencrypted_suffix",
        "encrypted_suffix",
        "unencrypted_regex",
        "encrypted_regex",
        "unencrypted_comment_regex",
        "encrypted_comment_regex",
    ];

    /// Builds a rule from its metadata field name and value.
    pub fn from_field(field: &str, value: &str) -> Result<Self, RuleError> {
        let re = |field: &'static str| {
            Regex::new(value).map_err(|e| RuleError::BadRegex {
                field,
                message: e.to_string(),
            })
        };
        Ok(match field {
            "unencrypted_suffix" => Self::UnencryptedSuffix(value.to_owned()),
            "encrypted_suffix" => Self::EncryptedSuffix(value.to_owned()),
            "unencrypted_regex" => Self::UnencryptedRegex(re("unencrypted_regex")?),
            "encrypted_regex" => Self::EncryptedRegex(re("encrypted_regex")?),
            "unencrypted_comment_regex" => {
                Self::UnencryptedCommentRegex(re("unencrypted_comment_regex")?)
            }
            "encrypted_comment_regex" => {
                Self::EncryptedCommentRegex(re("encrypted_comment_regex")?)
            }
            _ => {
                return Err(RuleError::BadRegex {
                    field: "rule",
                    message: format!("unknown rule field {field}"),
                });
            }
        })
    }

    /// Picks the single rule among optional fields (empty strings count as unset).
    pub fn from_fields<'a>(
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Option<Self>, RuleError> {
        let set: Vec<(&str, &str)> = fields.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        match set.as_slice() {
            [] => Ok(None),
            [(f, v)] => Self::from_field(f, v).map(Some),
            more => Err(RuleError::Conflicting(more.len())),
        }
    }

    /// The metadata field name of this rule.
    pub fn field(&self) -> &'static str {
        Self::FIELDS[self.index()]
    }

    fn index(&self) -> usize {
        match self {
            Self::UnencryptedSuffix(_) => 0,
            Self::EncryptedSuffix(_) => 1,
            Self::UnencryptedRegex(_) => 2,
            Self::EncryptedRegex(_) => 3,
            Self::UnencryptedCommentRegex(_) => 4,
            Self::EncryptedCommentRegex(_) => 5,
        }
    }

    /// The rule's value as written in metadata.
    pub fn value(&self) -> &str {
        match self {
            Self::UnencryptedSuffix(s) | Self::EncryptedSuffix(s) => s,
            Self::UnencryptedRegex(r)
            | Self::EncryptedRegex(r)
            | Self::UnencryptedCommentRegex(r)
            | Self::EncryptedCommentRegex(r) => r.as_str(),
        }
    }

    /// Decides whether the leaf at `path` is (to be) encrypted.
    ///
    /// `comments` is the active comment stack (one list per enclosing level, the innermost
    /// last) holding comment texts as they appear in the file. When the leaf is itself a
    /// comment, it is the last entry of the innermost level (`leaf_is_comment`).
    pub fn should_encrypt<S: AsRef<str>>(
        &self,
        path: &[S],
        comments: &[Vec<String>],
        leaf_is_comment: bool,
    ) -> bool {
        let mut keys = path.iter().map(AsRef::as_ref);
        match self {
            Self::UnencryptedSuffix(s) => !keys.any(|k| k.ends_with(s.as_str())),
            Self::EncryptedSuffix(s) => keys.any(|k| k.ends_with(s.as_str())),
            Self::UnencryptedRegex(r) => !keys.any(|k| r.is_match(k)),
            Self::EncryptedRegex(r) => keys.any(|k| r.is_match(k)),
            Self::UnencryptedCommentRegex(r) => !comments.iter().flatten().any(|c| r.is_match(c)),
            // sops excludes the comment being decided itself, so a matching comment stays
            // plain and marks what follows.
            Self::EncryptedCommentRegex(r) => {
                let last_level = comments.len().saturating_sub(1);
                comments.iter().enumerate().any(|(level, list)| {
                    let take = if leaf_is_comment && level == last_level {
                        list.len().saturating_sub(1)
                    } else {
                        list.len()
                    };
                    list[..take].iter().any(|c| r.is_match(c))
                })
            }
        }
    }
}

impl fmt::Debug for CryptRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.field(), self.value())
    }
}

/// The rule in force for a file: the stored one, else sops' default suffix.
pub fn effective(rule: Option<&CryptRule>) -> CryptRule {
    rule.cloned()
        .unwrap_or_else(|| CryptRule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_applies_to_any_path_component() {
        let rule = CryptRule::UnencryptedSuffix("_unencrypted".into());
        assert!(!rule.should_encrypt(&["a_unencrypted", "b"], &[], false));
        assert!(rule.should_encrypt(&["a", "b"], &[], false));
        // A top-level comment has an empty path and is encrypted.
        assert!(rule.should_encrypt::<&str>(&[], &[], true));
    }

    #[test]
    fn encrypted_regex_is_unanchored_search() {
        let rule = CryptRule::from_field("encrypted_regex", "^(data|stringData)$").unwrap();
        assert!(rule.should_encrypt(&["data", "x"], &[], false));
        assert!(!rule.should_encrypt(&["metadata", "name"], &[], false));
        let rule = CryptRule::from_field("encrypted_regex", "pass").unwrap();
        assert!(rule.should_encrypt(&["db", "password"], &[], false));
    }

    #[test]
    fn comment_rules_exclude_or_include_the_deciding_comment() {
        let enc = CryptRule::from_field("encrypted_comment_regex", "sops:enc").unwrap();
        let stack = vec![vec!["sops:enc".to_owned()]];
        assert!(!enc.should_encrypt::<&str>(&[], &stack, true));
        assert!(enc.should_encrypt(&["k"], &stack, false));
        let unenc = CryptRule::from_field("unencrypted_comment_regex", "plain").unwrap();
        let stack = vec![vec![], vec!["plain".to_owned()]];
        assert!(!unenc.should_encrypt(&["k"], &stack, true));
        assert!(!unenc.should_encrypt(&["k"], &stack, false));
    }

    #[test]
    fn at_most_one_rule() {
        assert!(
            CryptRule::from_fields([("encrypted_regex", "a"), ("unencrypted_regex", "")]).is_ok()
        );
        assert_eq!(
            CryptRule::from_fields([("encrypted_regex", "a"), ("unencrypted_regex", "b")]).err(),
            Some(RuleError::Conflicting(2))
        );
    }
}
