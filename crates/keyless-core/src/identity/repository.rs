//! What GitHub reports about a repository, as plain data: its name and IDs, the `sub` form its
//! jobs present, its environments. [`crate::io::github`] reads these; the core judges them.
//! Pure: no I/O.

/// A repository as GitHub reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// `owner/name` as GitHub spells it now.
    pub full_name: String,
    /// Numeric repository ID.
    pub id: u64,
    /// Numeric owner ID.
    pub owner_id: u64,
    /// Archived (read-only).
    pub archived: bool,
    /// The name asked for, when GitHub answered with a redirect (renamed or transferred).
    pub moved_from: Option<String>,
}

/// A repository's OIDC subject settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectSettings {
    /// The default template (`repo:...:context`).
    pub use_default: bool,
    /// The custom template's claim keys, when not the default.
    pub include_claim_keys: Vec<String>,
    /// The repository mints immutable subjects (`repo:OWNER@ID/REPO@ID`).
    pub immutable: bool,
    /// GitHub's own word on the fixed part of the `sub`, when it gives one.
    pub sub_claim_prefix: Option<String>,
}

/// Which form of `sub` a repository's jobs present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubForm {
    /// `repo:OWNER/REPO:context`
    Classic,
    /// `repo:OWNER@OWNER_ID/REPO@REPO_ID:context`
    Immutable,
    /// A custom template with these claim keys.
    Custom(Vec<String>),
}

impl SubjectSettings {
    /// The form these settings mint.
    pub fn form(&self) -> SubForm {
        if !self.use_default && !self.include_claim_keys.is_empty() {
            return SubForm::Custom(self.include_claim_keys.clone());
        }
        let prefix_immutable = self
            .sub_claim_prefix
            .as_deref()
            .is_some_and(|p| p.starts_with("repo:") && p.contains('@'));
        if self.immutable || prefix_immutable {
            SubForm::Immutable
        } else {
            SubForm::Classic
        }
    }
}

/// An environment as keyless needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentInfo {
    /// Its name, as GitHub spells it.
    pub name: String,
    /// How many protection rules it has (reviewers, wait timer, branch policy).
    pub protection_rules: usize,
    /// It restricts which branches may deploy.
    pub branch_policy: bool,
}

impl EnvironmentInfo {
    /// Does anything stand between a branch and this environment's secrets and trust?
    pub fn protected(&self) -> bool {
        self.protection_rules > 0 || self.branch_policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_comes_from_the_settings() {
        let s = |use_default, keys: &[&str], immutable, prefix: Option<&str>| SubjectSettings {
            use_default,
            include_claim_keys: keys.iter().map(|k| k.to_string()).collect(),
            immutable,
            sub_claim_prefix: prefix.map(String::from),
        };
        assert_eq!(
            s(true, &[], false, Some("repo:o/r")).form(),
            SubForm::Classic
        );
        assert_eq!(s(true, &[], true, None).form(), SubForm::Immutable);
        assert_eq!(
            s(true, &[], false, Some("repo:o@1/r@2")).form(),
            SubForm::Immutable
        );
        assert_eq!(
            s(false, &["repository_owner_id", "context"], false, None).form(),
            SubForm::Custom(vec!["repository_owner_id".into(), "context".into()])
        );
    }
}
