//! `keyless migrate-keys --repo O/R`: the next safe step from a stored key to the role, decided
//! from what is observed, one step per run, re-runnable until done (as `migrate-subjects` is).
//!
//! 1. *replace*: the config gets a role for the repository with the permissions the key's user
//!    used (never wider than the user's grant), applied, its variable set;
//! 2. *switch*: each workflow that passes the key is edited to assume the role
//!    ([`crate::artifacts::key_switch`]); the moment is recorded on the user (a tag);
//! 3. *prove*: the role has been assumed since the switch, and the key has not been used since;
//! 4. *deactivate* the key (reversible), recorded on the user;
//! 5. *delete*, after a grace period with the key inactive: the secrets, the key, and the user
//!    when nothing else is left on it.
//!
//! A key is touched only when evidence links it to the repository (`state::keys`), and retired
//! only when every repository linked to it has switched. Pure: the caller observes and acts.

use serde::Serialize;

/// The user tag recording when a repository switched away from the user's key:
/// `keyless:switched:OWNER/REPO` = seconds since the epoch.
pub fn switched_tag(repo: &str) -> String {
    format!("keyless:switched:{repo}")
}

/// The user tag recording which secrets held the key in a repository, at the switch:
/// `keyless:secrets:OWNER/REPO` = names, space-separated (IAM tag values take no comma).
pub fn secrets_tag(repo: &str) -> String {
    format!("keyless:secrets:{repo}")
}

/// The user tag recording when keyless deactivated a key: `keyless:deactivated:KEYID`.
pub fn deactivated_tag(key: &str) -> String {
    format!("keyless:deactivated:{key}")
}

/// The role tag naming the key it replaces.
pub const REPLACES_TAG: &str = "keyless:replaces-key";

/// What the run observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// The key linked to the repository (`None`: no key is linked with evidence).
    pub key: Option<String>,
    /// The key still exists.
    pub key_exists: bool,
    /// The key is active.
    pub key_active: bool,
    /// The config has the role replacing the key.
    pub role_in_config: bool,
    /// IAM holds what the config renders.
    pub in_sync: bool,
    /// Workflow lines that still pass the key.
    pub passing: usize,
    /// When the repository switched (from the user's tag).
    pub switched_at: Option<i64>,
    /// The role's last use (`RoleLastUsed`).
    pub role_last_used: Option<i64>,
    /// The key's last use.
    pub key_last_used: Option<i64>,
    /// What CloudTrail recorded using the key since the switch (source, agent, time).
    pub used_since_switch: Vec<String>,
    /// Other repositories linked to the key that have not switched.
    pub others_pending: Vec<String>,
    /// When keyless deactivated the key.
    pub deactivated_at: Option<i64>,
    /// Secrets holding the key still on GitHub.
    pub secrets_left: usize,
    /// The grace period before deleting, in days.
    pub grace_days: u32,
    /// Now.
    pub now: i64,
}

/// The next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Add the role to the config (and apply it).
    Replace,
    /// Apply the config: IAM differs from it.
    Apply,
    /// Edit the workflows that pass the key.
    Switch,
    /// Deactivate the key (the proof holds).
    Deactivate,
    /// Delete the secrets, the key, and the user when nothing else remains.
    Delete,
    /// Nothing left to do.
    Done,
    /// Not yet, and why.
    Wait {
        /// Why.
        why: String,
    },
    /// Never: nothing ties a key to the repository.
    Refuse {
        /// Why.
        why: String,
    },
}

impl Step {
    /// The step's name.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Replace => "replace",
            Step::Apply => "apply",
            Step::Switch => "switch",
            Step::Deactivate => "deactivate",
            Step::Delete => "delete",
            Step::Done => "done",
            Step::Wait { .. } => "wait",
            Step::Refuse { .. } => "refuse",
        }
    }
}

/// The next safe step.
pub fn next_step(f: &Facts) -> Step {
    let Some(key) = &f.key else {
        // After the delete step: no key left, the role in place, nothing passing a key.
        if f.role_in_config && f.passing == 0 && f.secrets_left == 0 && f.switched_at.is_none() {
            return Step::Done;
        }
        return Step::Refuse {
            why: "no IAM key is linked to this repository by evidence: run `keyless keys identify` in one of its workflows (with the stored secrets), then `keyless keys --repo` shows the link".into(),
        };
    };
    if !f.key_exists {
        return if f.secrets_left == 0 {
            Step::Done
        } else {
            Step::Delete
        };
    }
    if !f.role_in_config {
        return Step::Replace;
    }
    if !f.in_sync {
        return Step::Apply;
    }
    if f.passing > 0 {
        return Step::Switch;
    }
    if f.key_active && f.deactivated_at.is_some() {
        return Step::Wait {
            why: format!(
                "key {key} was deactivated by migrate-keys and is active again: find out who reactivated it (CloudTrail UpdateAccessKey) before going on"
            ),
        };
    }
    if f.key_active {
        let Some(switched) = f.switched_at else {
            return Step::Switch;
        };
        if f.role_last_used.is_none_or(|t| t < switched) {
            return Step::Wait {
                why: "the role has not been assumed since the workflows were switched: merge the change and run a workflow".into(),
            };
        }
        if let Some(t) = f.key_last_used.filter(|t| *t >= switched) {
            let from = if f.used_since_switch.is_empty() {
                "see `keyless keys --repo`".to_string()
            } else {
                f.used_since_switch.join("; ")
            };
            return Step::Wait {
                why: format!(
                    "key {key} was used after the switch ({} day(s) ago): something still uses it: {from}",
                    (f.now - t).max(0) / 86_400
                ),
            };
        }
        if !f.others_pending.is_empty() {
            return Step::Wait {
                why: format!(
                    "key {key} is also linked to {} which have not switched: migrate them first",
                    f.others_pending.join(", ")
                ),
            };
        }
        return Step::Deactivate;
    }
    let Some(at) = f.deactivated_at else {
        return Step::Wait {
            why: format!(
                "key {key} is inactive, but keyless did not deactivate it: delete it yourself, or reactivate it and run again"
            ),
        };
    };
    let waited = (f.now - at) / 86_400;
    if waited < i64::from(f.grace_days) {
        return Step::Wait {
            why: format!(
                "key {key} was deactivated {waited} day(s) ago; it is deleted after {} days inactive (--grace-days)",
                f.grace_days
            ),
        };
    }
    Step::Delete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Facts {
        Facts {
            key: Some("AKIA1".into()),
            key_exists: true,
            key_active: true,
            role_in_config: true,
            in_sync: true,
            passing: 0,
            switched_at: Some(1_000),
            role_last_used: Some(2_000),
            key_last_used: Some(500),
            grace_days: 7,
            now: 10_000,
            ..Facts::default()
        }
    }

    #[test]
    fn one_safe_step_after_another() {
        assert!(matches!(next_step(&Facts::default()), Step::Refuse { .. }));
        // Nothing linked, nothing stored, the role in place: done.
        assert_eq!(
            next_step(&Facts {
                role_in_config: true,
                ..Facts::default()
            }),
            Step::Done
        );
        assert_eq!(
            next_step(&Facts {
                role_in_config: false,
                ..base()
            }),
            Step::Replace
        );
        assert_eq!(
            next_step(&Facts {
                in_sync: false,
                ..base()
            }),
            Step::Apply
        );
        assert_eq!(
            next_step(&Facts {
                passing: 2,
                ..base()
            }),
            Step::Switch
        );
        // Proof: the role used since the switch, the key not.
        assert_eq!(next_step(&base()), Step::Deactivate);
        assert!(matches!(
            next_step(&Facts {
                role_last_used: Some(900),
                ..base()
            }),
            Step::Wait { .. }
        ));
        let used = next_step(&Facts {
            key_last_used: Some(1_500),
            ..base()
        });
        assert!(
            matches!(&used, Step::Wait { why } if why.contains("still uses")),
            "{used:?}"
        );
        assert!(matches!(
            next_step(&Facts {
                others_pending: vec!["o/r".into()],
                ..base()
            }),
            Step::Wait { .. }
        ));
        // Someone reactivated what keyless deactivated: not another step until that is known.
        assert!(matches!(
            next_step(&Facts { deactivated_at: Some(1_500), ..base() }),
            Step::Wait { why } if why.contains("active again")
        ));
        // Grace.
        let inactive = Facts {
            key_active: false,
            deactivated_at: Some(9_000),
            ..base()
        };
        assert!(matches!(next_step(&inactive), Step::Wait { .. }));
        assert_eq!(
            next_step(&Facts {
                now: 9_000 + 8 * 86_400,
                ..inactive.clone()
            }),
            Step::Delete
        );
        // Someone else deactivated it: not keyless's to delete.
        assert!(matches!(
            next_step(&Facts {
                deactivated_at: None,
                ..inactive
            }),
            Step::Wait { .. }
        ));
        assert_eq!(
            next_step(&Facts {
                key_exists: false,
                secrets_left: 1,
                ..base()
            }),
            Step::Delete
        );
        assert_eq!(
            next_step(&Facts {
                key_exists: false,
                ..base()
            }),
            Step::Done
        );
    }
}
