//! Naming rules of GitHub and IAM, as pure predicates that return a reason on failure.
//!
//! Used by config validation and preset parameter validation. Nothing here reads files or knows
//! about the config's layout; callers attach the file and key to the reason.

/// A rule check: `Ok(())` or the reason the value is rejected.
pub type Check = Result<(), String>;

fn all_chars(s: &str, ok: impl Fn(char) -> bool) -> bool {
    s.chars().all(ok)
}

/// GitHub owner (user or organisation) login: 1–39 ASCII letters, digits or single hyphens, not
/// starting or ending with a hyphen.
pub fn github_owner(s: &str) -> Check {
    if s.is_empty() || s.len() > 39 {
        return Err("a GitHub owner is 1 to 39 characters".into());
    }
    if !all_chars(s, |c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("a GitHub owner holds only ASCII letters, digits and hyphens".into());
    }
    if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
        return Err("a GitHub owner cannot start or end with a hyphen or hold two in a row".into());
    }
    Ok(())
}

/// GitHub repository name: 1–100 of ASCII letters, digits, `.`, `_`, `-`; not `.` or `..`.
pub fn github_repo_name(s: &str) -> Check {
    if s.is_empty() || s.len() > 100 {
        return Err("a GitHub repository name is 1 to 100 characters".into());
    }
    if s == "." || s == ".." {
        return Err("a GitHub repository name cannot be `.` or `..`".into());
    }
    if !all_chars(s, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    }) {
        return Err(
            "a GitHub repository name holds only ASCII letters, digits, `.`, `_` and `-`".into(),
        );
    }
    Ok(())
}

/// A git branch or tag name, with `*` allowed as a pattern character (git's check-ref-format
/// rules otherwise).
pub fn git_ref_name(s: &str) -> Check {
    if s.is_empty() || s.len() > 255 {
        return Err("a branch or tag name is 1 to 255 characters".into());
    }
    if s.starts_with("refs/") {
        return Err("give the short name (`main`, `v1.2.3`), not the full `refs/...` path".into());
    }
    if s.chars().any(|c| {
        c.is_control() || c.is_whitespace() || matches!(c, '~' | '^' | ':' | '\\' | '[' | '?')
    }) {
        return Err(
            "a git ref name cannot hold spaces, control characters or any of ~ ^ : ? [ \\".into(),
        );
    }
    if s.contains("..") || s.contains("@{") || s.contains("//") {
        return Err("a git ref name cannot hold `..`, `@{` or `//`".into());
    }
    if s.starts_with('/')
        || s.ends_with('/')
        || s.ends_with('.')
        || s.ends_with(".lock")
        || s.starts_with('-')
    {
        return Err(
            "a git ref name cannot start with `/` or `-`, nor end with `/`, `.` or `.lock`".into(),
        );
    }
    if s.split('/').any(|c| c.starts_with('.')) {
        return Err("no part of a git ref name may start with `.`".into());
    }
    Ok(())
}

/// A GitHub environment name: 1–255 characters, no control characters.
pub fn environment_name(s: &str) -> Check {
    if s.is_empty() || s.chars().count() > 255 {
        return Err("an environment name is 1 to 255 characters".into());
    }
    if s.chars().any(|c| c.is_control()) {
        return Err("an environment name cannot hold control characters".into());
    }
    // A workflow's `environment:` is evaluated as an expression: `${{ … }}` in the name would
    // be run (or fail actionlint), never matched as written.
    if s.contains("${{") {
        return Err("an environment name cannot hold `${{`: GitHub Actions evaluates it as an expression in the workflow's `environment:`".into());
    }
    if s.trim() != s {
        return Err("an environment name cannot start or end with whitespace".into());
    }
    Ok(())
}

/// A GitHub Actions variable name: letters, digits and `_`, not starting with a digit or with
/// `GITHUB_` (GitHub's rules; names are case-insensitive, keyless writes them upper-case).
pub fn github_variable_name(s: &str) -> Check {
    if s.is_empty() || s.len() > 100 {
        return Err("a variable name is 1 to 100 characters".into());
    }
    if !all_chars(s, |c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("a variable name holds only letters, digits and _".into());
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("a variable name cannot start with a digit".into());
    }
    if s.to_ascii_uppercase().starts_with("GITHUB_") {
        return Err("GitHub reserves variable names starting with GITHUB_".into());
    }
    if s != s.to_ascii_uppercase() {
        return Err("write variable names in upper case (GitHub treats them case-insensitively, and workflows read vars.NAME as written)".into());
    }
    Ok(())
}

/// A numeric GitHub ID (owner or repository), as a decimal string.
pub fn github_id(s: &str) -> Check {
    if s.is_empty() || s.len() > 20 || !all_chars(s, |c| c.is_ascii_digit()) || s.starts_with('0') {
        return Err("a GitHub ID is a positive decimal number, e.g. \"123456\" (from `gh api repos/OWNER/REPO --jq .id`)".into());
    }
    Ok(())
}

/// IAM role name: 1–64 of `[\w+=,.@-]`.
pub fn iam_role_name(s: &str) -> Check {
    iam_name(s, 64, "role name")
}

/// IAM managed or inline policy name: 1–128 of `[\w+=,.@-]`.
pub fn iam_policy_name(s: &str) -> Check {
    iam_name(s, 128, "policy name")
}

fn iam_name(s: &str, max: usize, what: &str) -> Check {
    if s.is_empty() || s.len() > max {
        return Err(format!("an IAM {what} is 1 to {max} characters"));
    }
    if !all_chars(s, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
    }) {
        return Err(format!(
            "an IAM {what} holds only ASCII letters, digits and + = , . @ _ -"
        ));
    }
    Ok(())
}

/// IAM path: `/` or `/segment/.../`, at most 512 characters of printable ASCII.
pub fn iam_path(s: &str) -> Check {
    if s.is_empty() || s.len() > 512 {
        return Err("an IAM path is 1 to 512 characters".into());
    }
    if !s.starts_with('/') || !s.ends_with('/') {
        return Err("an IAM path starts and ends with `/`, e.g. `/` or `/ci/`".into());
    }
    if s.contains("//") || !all_chars(s, |c| ('!'..='~').contains(&c)) {
        return Err("an IAM path holds printable ASCII without spaces or empty segments".into());
    }
    Ok(())
}

/// A role description, as IAM's model has it: at most 1,000 of tab, newline, carriage return,
/// printable ASCII and U+00A1–U+00FF (so not DEL, the C1 controls or the no-break space).
pub fn iam_description(s: &str) -> Check {
    let ok = |c: char| matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{A1}'..='\u{FF}');
    if s.chars().count() > 1000 || !s.chars().all(ok) {
        return Err(
            "a role description is at most 1000 printable ASCII or Latin-1 characters \
             (U+00A1 to U+00FF), tabs and newlines"
                .into(),
        );
    }
    Ok(())
}

/// A 12-digit AWS account ID.
pub fn account_id(s: &str) -> Check {
    if s.len() != 12 || !all_chars(s, |c| c.is_ascii_digit()) {
        return Err("an AWS account ID is exactly 12 digits, quoted as a string".into());
    }
    Ok(())
}

/// The known AWS partitions.
pub const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// An AWS partition name.
pub fn partition(s: &str) -> Check {
    if PARTITIONS.contains(&s) {
        Ok(())
    } else {
        Err(format!(
            "unknown partition; use one of {}",
            PARTITIONS.join(", ")
        ))
    }
}

/// An AWS region name such as `us-east-1` or `cn-north-1`.
pub fn region(s: &str) -> Check {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty() && all_chars(p, |c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| all_chars(p, |c| c.is_ascii_digit()));
    if ok && s.len() <= 32 {
        Ok(())
    } else {
        Err("an AWS region looks like `us-east-1` or `eu-central-2`".into())
    }
}

/// The partition an ARN names (`arn:PARTITION:...`); `aws` for anything that is not an ARN.
pub fn partition_of_arn(arn: &str) -> &str {
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", p, ..] if !p.is_empty() => p,
        _ => "aws",
    }
}

/// The partition a region belongs to, for when no caller identity is available.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    /// e.g. `aws`
    pub partition: &'a str,
    /// e.g. `iam`
    pub service: &'a str,
    /// empty for global services
    pub region: &'a str,
    /// empty or 12 digits, or `aws` for AWS-managed policies
    pub account: &'a str,
    /// everything after the fifth colon
    pub resource: &'a str,
}

/// Parse and check an ARN's shape.
pub fn arn(s: &str) -> Result<Arn<'_>, String> {
    let mut it = s.splitn(6, ':');
    let (Some("arn"), Some(p), Some(svc), Some(reg), Some(acct), Some(res)) = (
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
        it.next(),
    ) else {
        return Err("an ARN looks like arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE".into());
    };
    partition(p)?;
    if svc.is_empty()
        || !all_chars(svc, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        })
    {
        return Err("the ARN's service part is empty or not lower-case".into());
    }
    if !(acct.is_empty() || acct == "aws" || account_id(acct).is_ok()) {
        return Err("the ARN's account part is not 12 digits".into());
    }
    if res.is_empty() || res.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the ARN's resource part is empty or holds spaces".into());
    }
    Ok(Arn {
        partition: p,
        service: svc,
        region: reg,
        account: acct,
        resource: res,
    })
}

/// An IAM managed policy ARN (`arn:P:iam::ACCOUNT|aws:policy/...`).
pub fn managed_policy_arn(s: &str) -> Check {
    let a = arn(s)?;
    if a.service != "iam" || !a.resource.starts_with("policy/") || !a.region.is_empty() {
        return Err("a managed policy ARN looks like arn:aws:iam::aws:policy/ReadOnlyAccess or arn:aws:iam::123456789012:policy/NAME".into());
    }
    Ok(())
}

/// An IAM role ARN.
pub fn role_arn(s: &str) -> Check {
    let a = arn(s)?;
    if a.service != "iam" || !a.resource.starts_with("role/") || a.account.len() != 12 {
        return Err("a role ARN looks like arn:aws:iam::123456789012:role/NAME".into());
    }
    if a.resource.contains('*') {
        return Err("a role ARN cannot hold `*` here; name one role".into());
    }
    Ok(())
}

/// Tag key: 1–128 characters; tag value: 0–256; letters, digits, spaces and `_.:/=+-@`.
pub fn tag(key: &str, value: &str) -> Check {
    // IAM's model: `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, by Unicode general category (Rust's
    // `is_alphanumeric` also admits combining marks, which IAM refuses).
    let ok_char = |c: char| {
        use unicode_properties::{GeneralCategoryGroup as G, UnicodeGeneralCategory};
        matches!(
            c.general_category_group(),
            G::Letter | G::Number | G::Separator
        ) || "_.:/=+-@".contains(c)
    };
    if key.is_empty() || key.chars().count() > 128 || !key.chars().all(ok_char) {
        return Err(
            "a tag key is 1 to 128 Unicode letters, numbers, spaces or _ . : / = + - @ \
             (no combining marks)"
                .into(),
        );
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err("tag keys starting with `aws:` are reserved by AWS".into());
    }
    if value.chars().count() > 256 || !value.chars().all(ok_char) {
        return Err(
            "a tag value is 0 to 256 Unicode letters, numbers, spaces or _ . : / = + - @ \
             (no combining marks)"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners() {
        assert!(github_owner("octo-org").is_ok());
        assert!(github_owner("a").is_ok());
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a_b",
            "a.b",
            "octo/org",
            &"x".repeat(40),
            "оcto",
        ] {
            assert!(github_owner(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn repos() {
        assert!(github_repo_name("my.repo_name-2").is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "a*", &"r".repeat(101)] {
            assert!(github_repo_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refs() {
        for ok in ["main", "release/v1", "feature/*", "v1.2.3", "v*"] {
            assert!(git_ref_name(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "refs/heads/main",
            "a b",
            "a..b",
            "a:b",
            "a?",
            "x.lock",
            "/a",
            "a/",
            ".a",
            "a/.b",
            "-x",
        ] {
            assert!(git_ref_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn iam_names_and_paths() {
        assert!(iam_role_name("gha-deploy_site+v2=x,y.z@w").is_ok());
        assert!(iam_role_name(&"r".repeat(65)).is_err());
        assert!(iam_role_name("bad name").is_err());
        assert!(iam_path("/").is_ok());
        assert!(iam_path("/ci/github/").is_ok());
        for bad in ["", "ci/", "/ci", "/a//b/", "/a b/"] {
            assert!(iam_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arns_accounts_regions() {
        assert!(account_id("123456789012").is_ok());
        assert!(account_id("12345678901").is_err());
        assert!(managed_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess").is_ok());
        assert!(managed_policy_arn("arn:aws-cn:iam::123456789012:policy/x/y").is_ok());
        assert!(managed_policy_arn("arn:aws:s3:::bucket").is_err());
        assert!(managed_policy_arn("arn:nope:iam::aws:policy/X").is_err());
        assert!(role_arn("arn:aws:iam::123456789012:role/x").is_ok());
        assert!(role_arn("arn:aws:iam::123456789012:role/*").is_err());
        assert!(region("us-east-1").is_ok());
        assert!(region("cn-northwest-1").is_ok());
        assert!(region("useast1").is_err());
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(
            partition_of_arn("arn:aws-us-gov:sts::123456789012:assumed-role/r/s"),
            "aws-us-gov"
        );
        assert_eq!(partition_of_arn("not an arn"), "aws");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
    }

    #[test]
    fn tags() {
        assert!(tag("team", "web platform").is_ok());
        assert!(tag("aws:x", "y").is_err());
        assert!(tag("", "y").is_err());
        assert!(tag("k", &"v".repeat(257)).is_err());
        assert!(tag("k", "bad\"quote").is_err());
    }
}
