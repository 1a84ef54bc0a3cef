//! `export`: what apply would create, as a CloudFormation template (and the StackSets script that
//! deploys it across organizational units), or the `[guard]` as a template. Offline: it renders
//! the config for the account it pins, else for no account in particular, and calls nothing.
//! Writing the files and showing them is the caller's.

use serde_json::Value;

use crate::artifacts::cloudformation::{self, SENTINEL_ACCOUNT};
use crate::config::Config;
use crate::config::guard::Guard;
use crate::error::Result;
use crate::ops::provision::refuse_blocking;
use crate::policy::template::Templates;
use crate::state::render::{self, Target};

/// An exported template.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The config's name.
    pub config: String,
    /// The template.
    pub template: Value,
    /// The template as written to a file or stdout (pretty JSON and a newline).
    pub text: String,
}

/// The StackSets steps for an exported template.
#[derive(Debug, Clone)]
pub struct StackSet<'a> {
    /// The stack set's name.
    pub name: &'a str,
    /// The template's file name beside the script.
    pub template_file: &'a str,
    /// Organizational unit or root IDs to deploy to.
    pub ous: &'a [String],
    /// The Region the stack set is administered from.
    pub region: &'a str,
    /// Run as the organisation's delegated administrator.
    pub delegated_admin: bool,
}

fn exported(config: &str, template: Value) -> Exported {
    let text = serde_json::to_string_pretty(&template).unwrap_or_default() + "\n";
    Exported {
        config: config.to_string(),
        template,
        text,
    }
}

/// The config's roles and provider as a template: rendered for `account_id` when the config
/// pins one, else for the sentinel account (the template takes the account from its stack);
/// refused when lint blocks, as apply would refuse it.
pub fn cloudformation(cfg: &Config, templates: &Templates, partition: &str) -> Result<Exported> {
    let target = Target {
        account_id: cfg
            .account_id
            .clone()
            .unwrap_or_else(|| SENTINEL_ACCOUNT.into()),
        partition: partition.to_string(),
    };
    let rendered = render::render(cfg, templates, &target)?;
    refuse_blocking(&rendered)?;
    let template = cloudformation::cloudformation(&rendered)?;
    Ok(exported(&rendered.config, template))
}

/// The script that creates (or updates) a stack set from the exported template and deploys it.
pub fn stack_set_script(s: &StackSet) -> String {
    cloudformation::stack_set_script(s.name, s.template_file, s.ous, s.region, s.delegated_admin)
}

/// The `[guard]` as a template (`AWS::Organizations::Policy`).
pub fn guard(g: &Guard, config: &str) -> Exported {
    exported(config, cloudformation::guard_cloudformation(g, config))
}
