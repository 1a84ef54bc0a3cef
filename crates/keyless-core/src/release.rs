//! Where keyless's releases and its GitHub Action live, and which commit this build is: the one
//! canonical home, used by the emitted workflows (the action pinned by commit), the action's
//! install script and the installers `dist` generates (`repository` in Cargo.toml, checked equal
//! by a test). Teams that mirror releases override it with `[workflow] keyless_home`.

/// `owner/repo` of keyless's releases and action.
pub const HOME: &str = "keyless-dev/keyless";

/// This build's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit this build was made from, when it was built in a git checkout (`build.rs`).
pub const COMMIT: Option<&str> = option_env!("KEYLESS_BUILD_COMMIT");

/// Is `s` a full commit SHA?
pub fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_is_the_crates_repository() {
        assert_eq!(
            env!("CARGO_PKG_REPOSITORY"),
            format!("https://github.com/{HOME}")
        );
        assert!(COMMIT.is_none_or(is_commit));
        assert!(is_commit("3d3c42e5aac5ba805825da76410c181273ba90b1") && !is_commit("v1"));
    }
}
