//! A CloudTrail trail's log files on disk (`--cloudtrail DIR`), as a trail delivers them to S3
//! and `aws s3 sync` copies them: `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/*.json.gz`,
//! each a JSON object with `Records`. Unlike event history these hold data events (S3 object
//! reads and writes). Reads every `.json.gz` and `.json` file under the directory (no symlinks
//! followed), each capped; hands back the records. Knows nothing of what the records mean.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// The most one file may hold once inflated.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// Every record under `dir`, with the number of files read.
pub fn read_dir(dir: &Path) -> Result<(Vec<Value>, usize)> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let mut records = Vec::new();
    for f in &files {
        let v = read_file(f)?;
        match v.get("Records").and_then(Value::as_array) {
            Some(r) => records.extend(r.iter().cloned()),
            None => {
                return Err(Error::Document {
                    file: f.display().to_string(),
                    message: "not a CloudTrail log file: no `Records` list".into(),
                    fix: "point --cloudtrail at a directory of the trail's log files (AWSLogs/…/CloudTrail/…)".into(),
                });
            }
        }
    }
    Ok((records, files.len()))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let kind = entry.file_type().map_err(io)?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() && (name.ends_with(".json.gz") || name.ends_with(".json")) {
            out.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Value> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut text = Vec::new();
    let gz = path.extension().is_some_and(|e| e == "gz");
    let reader: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::Document {
            file: path.display().to_string(),
            message: format!("larger than {} MB once inflated", MAX_FILE_BYTES >> 20),
            fix: "a trail file is a few MB at most: check the directory".into(),
        });
    }
    serde_json::from_slice(&text).map_err(|e| Error::Document {
        file: path.display().to_string(),
        message: format!("not JSON: {e}"),
        fix: "point --cloudtrail at a directory of the trail's log files".into(),
    })
}
