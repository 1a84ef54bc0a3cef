//! Writing the files keyless produces: the config (init, import, migrate-subjects), imported
//! policies, exported templates and scripts, SARIF. Never through a symbolic link: a link at the
//! path is refused, naming it (a link can point anywhere, and a dangling one would be created).
//! A missing directory is created. A script is created executable as far as the umask allows
//! (0777 masked by it, as a compiler does), never wider. It also reads back the `name` of a config
//! that init or import is about to rewrite.

use std::io::Write;
use std::path::Path;

use keyless::error::{Error, Result};

/// Write `text` to `path` (a regular file, replaced if it exists).
pub fn write(path: &Path, text: &str) -> Result<()> {
    write_file(path, text, false)
}

/// Write `text` to `path` as an executable script.
pub fn write_script(path: &Path, text: &str) -> Result<()> {
    write_file(path, text, true)
}

/// The `name` of the config file at `path`, when there is one that says it (init and import
/// rewriting a config keep its identity).
pub fn config_name(path: &Path) -> Option<String> {
    let text = keyless::config::read_capped(path, keyless::config::MAX_CONFIG_BYTES).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    doc.get("name")?.as_str().map(String::from)
}

fn write_file(path: &Path, text: &str, executable: bool) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::usage(
            format!(
                "{} is a symbolic link; keyless does not write through links",
                path.display()
            ),
            "remove the link, or write somewhere else",
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if executable {
        use std::os::unix::fs::OpenOptionsExt;
        // The mode applies only to a new file: an existing one is replaced.
        if path.exists() {
            std::fs::remove_file(path).map_err(io)?;
        }
        opts.mode(0o777);
    }
    #[cfg(not(unix))]
    let _ = executable;
    opts.open(path)
        .map_err(io)?
        .write_all(text.as_bytes())
        .map_err(io)
}

/// Write the trust map page (`audit --html`, `check --html`).
pub fn write_map(
    path: &Path,
    title: &str,
    source: &str,
    accounts: &[keyless::artifacts::trust_map::MapAccount],
) -> Result<()> {
    let page = keyless::artifacts::trust_map::html(title, &now_rfc3339(), source, accounts);
    write(path, &page)
}

/// Now, as RFC 3339 (the trust map's "generated" line).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    keyless::io::aws::rfc3339(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_refused_and_a_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("out.json");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let e = write(&link, "new").unwrap_err().to_string();
            assert!(e.contains("symbolic link"), "{e}");
            assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
            // A dangling link is refused too, and nothing is created at its target.
            let dangling = dir.path().join("keyless.toml");
            std::os::unix::fs::symlink(dir.path().join("nowhere.toml"), &dangling).unwrap();
            assert!(write(&dangling, "x").is_err());
            assert!(!dir.path().join("nowhere.toml").exists());
        }
        let plain = dir.path().join("sub/plain.txt");
        write(&plain, "hello").unwrap();
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "hello");
    }
}
