//! GitHub's side of stored keys: secrets (names only: GitHub never shows a value) at
//! repository, environment and organisation level, the organisation's repositories, workflow
//! files through the contents API, and GitHub's hosted-runner address ranges (`GET /meta`).
//! Plain data back; what a name or a file means is the core's (`state::keys`).

use base64::Engine as _;
use serde_json::Value;

use super::{GitHub, encode};
use crate::error::{Error, Result};

/// A secret as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// Its name.
    pub name: String,
    /// When it was last updated.
    pub updated_at: Option<String>,
    /// For an organisation secret: `all`, `private` or `selected`.
    pub visibility: Option<String>,
}

/// A file of a repository, with the blob sha an update must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Its path.
    pub path: String,
    /// Its text.
    pub text: String,
    /// Its blob sha.
    pub sha: String,
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullInfo {
    /// Its number.
    pub number: u64,
    /// Where people read it.
    pub html_url: String,
}

/// The most pages of one list keyless reads (100 a page).
const MAX_PAGES: usize = 100;

impl GitHub {
    /// Every item of a paginated list at `url` (`field`: the array's key; `None`: the answer
    /// is the array), 100 a page.
    async fn list_all(
        &self,
        url: &str,
        field: Option<&str>,
        repo: Option<&str>,
    ) -> Result<Option<Vec<Value>>> {
        let mut out = Vec::new();
        let sep = if url.contains('?') { '&' } else { '?' };
        for page in 1..=MAX_PAGES {
            let u = format!("{url}{sep}per_page=100&page={page}");
            let r = self.get(&u).await?;
            if r.status == 404 {
                return Ok(None);
            }
            let v: Value = self.parse(&u, &r, repo)?;
            let items = match field {
                Some(f) => v
                    .get(f)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                None => v.as_array().cloned().unwrap_or_default(),
            };
            let n = items.len();
            out.extend(items);
            let total = v
                .get("total_count")
                .and_then(Value::as_u64)
                .map(|t| t as usize);
            if n < 100 || total.is_some_and(|t| out.len() >= t) {
                break;
            }
        }
        Ok(Some(out))
    }

    fn secrets_of(items: Vec<Value>) -> Vec<SecretInfo> {
        items
            .iter()
            .filter_map(|s| {
                Some(SecretInfo {
                    name: s.get("name")?.as_str()?.to_string(),
                    updated_at: s
                        .get("updated_at")
                        .and_then(Value::as_str)
                        .map(String::from),
                    visibility: s
                        .get("visibility")
                        .and_then(Value::as_str)
                        .map(String::from),
                })
            })
            .collect()
    }

    /// A repository's own secrets.
    pub async fn repo_secrets(&self, full: &str) -> Result<Vec<SecretInfo>> {
        let url = format!("{}/repos/{full}/actions/secrets", self.base);
        Ok(Self::secrets_of(
            self.list_all(&url, Some("secrets"), Some(full))
                .await?
                .unwrap_or_default(),
        ))
    }

    /// The organisation secrets a repository can read.
    pub async fn repo_org_secrets(&self, full: &str) -> Result<Vec<SecretInfo>> {
        let url = format!("{}/repos/{full}/actions/organization-secrets", self.base);
        Ok(Self::secrets_of(
            self.list_all(&url, Some("secrets"), Some(full))
                .await?
                .unwrap_or_default(),
        ))
    }

    /// A repository's environments, by name.
    pub async fn environments(&self, full: &str) -> Result<Vec<String>> {
        let url = format!("{}/repos/{full}/environments", self.base);
        Ok(self
            .list_all(&url, Some("environments"), Some(full))
            .await?
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.get("name").and_then(Value::as_str).map(String::from))
            .collect())
    }

    /// An environment's secrets.
    pub async fn env_secrets(&self, full: &str, env: &str) -> Result<Vec<SecretInfo>> {
        let url = format!(
            "{}/repos/{full}/environments/{}/secrets",
            self.base,
            encode(env)
        );
        Ok(Self::secrets_of(
            self.list_all(&url, Some("secrets"), Some(full))
                .await?
                .unwrap_or_default(),
        ))
    }

    /// An organisation's secrets, with their visibility (`None`: not an organisation, or the
    /// token may not read them).
    pub async fn org_secrets(&self, org: &str) -> Result<Option<Vec<SecretInfo>>> {
        let url = format!("{}/orgs/{}/actions/secrets", self.base, encode(org));
        Ok(self
            .list_all(&url, Some("secrets"), None)
            .await?
            .map(Self::secrets_of))
    }

    /// The repositories a `selected` organisation secret reaches.
    pub async fn org_secret_repos(&self, org: &str, name: &str) -> Result<Vec<String>> {
        let url = format!(
            "{}/orgs/{}/actions/secrets/{}/repositories",
            self.base,
            encode(org),
            encode(name)
        );
        Ok(self
            .list_all(&url, Some("repositories"), None)
            .await?
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.get("full_name").and_then(Value::as_str).map(String::from))
            .collect())
    }

    /// An organisation's repositories: `(owner/repo, id)`.
    pub async fn org_repos(&self, org: &str) -> Result<Vec<(String, u64)>> {
        let url = format!("{}/orgs/{}/repos", self.base, encode(org));
        let Some(items) = self.list_all(&url, None, None).await? else {
            return Err(Error::GitHub {
                what: format!("GET {url}"),
                status: Some(404),
                message: format!("no organisation {org} (or the token cannot see it)"),
                hint: Some(
                    "check --owner, and that the token may read the organisation's repositories"
                        .into(),
                ),
            });
        };
        Ok(items
            .iter()
            .filter_map(|r| {
                Some((
                    r.get("full_name")?.as_str()?.to_string(),
                    r.get("id")?.as_u64()?,
                ))
            })
            .collect())
    }

    /// The workflow files of a repository's default branch; none when it has no
    /// `.github/workflows`.
    pub async fn workflow_files(&self, full: &str) -> Result<Vec<FileInfo>> {
        let url = format!("{}/repos/{full}/contents/.github/workflows", self.base);
        let r = self.get(&url).await?;
        if r.status == 404 {
            return Ok(vec![]);
        }
        let listing: Value = self.parse(&url, &r, Some(full))?;
        let mut out = Vec::new();
        for item in listing.as_array().into_iter().flatten() {
            let (Some(path), Some(kind)) = (
                item.get("path").and_then(Value::as_str),
                item.get("type").and_then(Value::as_str),
            ) else {
                continue;
            };
            if kind != "file" || !(path.ends_with(".yml") || path.ends_with(".yaml")) {
                continue;
            }
            let file_url = format!(
                "{}/repos/{full}/contents/{}",
                self.base,
                path.split('/').map(encode).collect::<Vec<_>>().join("/")
            );
            let r = self.get(&file_url).await?;
            let v: Value = self.parse(&file_url, &r, Some(full))?;
            let content: String = v
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content)
                .map_err(|e| Error::GitHub {
                    what: format!("GET {file_url}"),
                    status: Some(200),
                    message: format!("the file's content is not base64: {e}"),
                    hint: None,
                })?;
            out.push(FileInfo {
                path: path.to_string(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
                sha: v
                    .get("sha")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Ok(out)
    }

    /// GitHub's hosted-runner address ranges (`GET /meta`, `actions`).
    pub async fn actions_ranges(&self) -> Result<Vec<String>> {
        let url = format!("{}/meta", self.base);
        let r = self.get(&url).await?;
        let v: Value = self.parse(&url, &r, None)?;
        Ok(v.get("actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(String::from))
            .collect())
    }
}

impl GitHub {
    /// Delete a secret: a repository's (`env` none), an environment's, or an organisation's
    /// (`org`). A secret already gone is not an error.
    pub async fn delete_secret(&self, place: &SecretPlace<'_>, name: &str) -> Result<()> {
        let url = match place {
            SecretPlace::Repository(full) => {
                format!(
                    "{}/repos/{full}/actions/secrets/{}",
                    self.base,
                    encode(name)
                )
            }
            SecretPlace::Environment(full, env) => format!(
                "{}/repos/{full}/environments/{}/secrets/{}",
                self.base,
                encode(env),
                encode(name)
            ),
            SecretPlace::Organization(org) => format!(
                "{}/orgs/{}/actions/secrets/{}",
                self.base,
                encode(org),
                encode(name)
            ),
        };
        let r = self.call("DELETE", &url, None).await?;
        if r.status == 404 {
            return Ok(());
        }
        let repo = match place {
            SecretPlace::Repository(f) | SecretPlace::Environment(f, _) => *f,
            SecretPlace::Organization(o) => o,
        };
        super::write_result("DELETE", &url, &r, repo, &self.source, 204)
    }
}

/// Where a secret to delete is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretPlace<'a> {
    /// `owner/repo`
    Repository(&'a str),
    /// `owner/repo` and environment.
    Environment(&'a str, &'a str),
    /// The organisation.
    Organization(&'a str),
}

impl GitHub {
    /// The commit a branch points at.
    pub async fn branch_sha(&self, full: &str, branch: &str) -> Result<String> {
        let url = format!(
            "{}/repos/{full}/git/ref/heads/{}",
            self.base,
            encode(branch)
        );
        let r = self.get(&url).await?;
        let v: Value = self.parse(&url, &r, Some(full))?;
        Ok(v["object"]["sha"].as_str().unwrap_or_default().to_string())
    }

    /// Create branch `name` at `sha`; one that exists already is not an error (a run that
    /// stopped part-way is run again).
    pub async fn create_branch(&self, full: &str, name: &str, sha: &str) -> Result<()> {
        let url = format!("{}/repos/{full}/git/refs", self.base);
        let body = serde_json::json!({"ref": format!("refs/heads/{name}"), "sha": sha});
        let r = self.call("POST", &url, Some(&body)).await?;
        if r.status == 422 {
            return Ok(());
        }
        super::write_result("POST", &url, &r, full, &self.source, 201)
    }

    /// Write a file on a branch, one commit (the file's blob sha names what it replaces).
    pub async fn put_file(
        &self,
        full: &str,
        branch: &str,
        file: &FileInfo,
        text: &str,
        message: &str,
    ) -> Result<()> {
        let url = format!(
            "{}/repos/{full}/contents/{}",
            self.base,
            file.path
                .split('/')
                .map(encode)
                .collect::<Vec<_>>()
                .join("/")
        );
        let mut body = serde_json::json!({
            "message": message,
            "content": base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
            "branch": branch,
        });
        if !file.sha.is_empty() {
            body["sha"] = Value::String(file.sha.clone());
        }
        let r = self.call("PUT", &url, Some(&body)).await?;
        if r.status == 201 {
            return Ok(());
        }
        super::write_result("PUT", &url, &r, full, &self.source, 200)
    }

    /// The open pull request from branch `head`, if there is one.
    pub async fn pull_from(&self, full: &str, head: &str) -> Result<Option<PullInfo>> {
        let owner = full.split('/').next().unwrap_or_default();
        let url = format!(
            "{}/repos/{full}/pulls?state=open&head={}",
            self.base,
            encode(&format!("{owner}:{head}"))
        );
        let r = self.get(&url).await?;
        let v: Value = self.parse(&url, &r, Some(full))?;
        Ok(v.as_array().and_then(|a| a.first()).map(|p| PullInfo {
            number: p["number"].as_u64().unwrap_or(0),
            html_url: p["html_url"].as_str().unwrap_or_default().to_string(),
        }))
    }

    /// Open a pull request from `head` into `base`.
    pub async fn open_pull(
        &self,
        full: &str,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullInfo> {
        let url = format!("{}/repos/{full}/pulls", self.base);
        let req = serde_json::json!({"title": title, "head": head, "base": base, "body": body});
        let r = self.call("POST", &url, Some(&req)).await?;
        super::write_result("POST", &url, &r, full, &self.source, 201)?;
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        Ok(PullInfo {
            number: v["number"].as_u64().unwrap_or(0),
            html_url: v["html_url"].as_str().unwrap_or_default().to_string(),
        })
    }
}
