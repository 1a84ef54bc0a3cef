//! `keyless export cloudformation`: the state `apply` would create in one fresh account, as a
//! CloudFormation template, for StackSets that roll it out to whole organizational units.
//!
//! The template is derived from the plan for an empty account (the same [`crate::state::plan::plan`]
//! that `apply` executes), so it holds exactly what apply would create: the provider (behind a
//! parameter, since an account holds one provider per URL), each role with its rendered trust,
//! boundary, session length, description and tags (ownership tags included), each keyless-owned
//! managed policy (its description names the config: CloudFormation cannot tag a managed policy,
//! and the description is what keyless reads ownership from first), inline policies, and
//! attachments. Account and partition come from pseudo-parameters, never literals. Pure: it
//! must not know the AWS API, files or the terminal.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::state::observed::{Observed, policy_description};
use crate::state::plan::{Change, plan};
use crate::state::render::Rendered;

/// The account keyless renders for before the documents are made account-neutral.
pub const SENTINEL_ACCOUNT: &str = "000000000000";

const CREATE_PROVIDER: &str = "CreateOIDCProvider";
const PROVIDER: &str = "GitHubOIDCProvider";

/// The template for `rendered`, rendered for the account the config pins, or for
/// [`SENTINEL_ACCOUNT`]: that account ID becomes `AWS::AccountId` wherever it appears (an ARN, a
/// boundary), and the partition `AWS::Partition`, so the template describes each account it is
/// deployed to.
pub fn cloudformation(rendered: &Rendered) -> Result<Value> {
    let mut empty = Observed::default();
    for role in &rendered.roles {
        empty.roles.insert(role.name.clone(), None);
    }
    let changes = plan(rendered, &empty)?.changes;
    let neutral = Neutral {
        partition: format!("arn:{}:", rendered.target.partition),
        accounts: vec![rendered.target.account_id.clone()],
        provider_arn: rendered.provider_arn.clone(),
    };
    let ids = LogicalIds::new(rendered);
    let mut resources = Map::new();
    let mut outputs = Map::new();
    // Managed policy ARN → the roles it is attached to, for the policy's `Roles`.
    let mut attach: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut external: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut inline: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut policy_ids: BTreeMap<String, String> = BTreeMap::new();
    for c in &changes {
        match c {
            Change::AttachPolicy { role, arn } => {
                let r = json!({"Ref": ids.role(role)});
                if rendered.roles.iter().any(|x| {
                    x.policies.iter().any(|p| {
                        p.attach == "managed"
                            && crate::state::plan::preset_policy_arn(rendered, x, &p.name) == *arn
                    })
                }) {
                    attach.entry(arn.clone()).or_default().push(r);
                } else {
                    external
                        .entry(role.clone())
                        .or_default()
                        .push(neutral.value(&json!(arn)));
                }
            }
            Change::PutInlinePolicy {
                role, name, after, ..
            } => inline.entry(role.clone()).or_default().push(json!({
                "PolicyName": name,
                "PolicyDocument": neutral.value(after),
            })),
            _ => {}
        }
    }
    for c in &changes {
        match c {
            Change::CreateProvider {
                url,
                client_ids,
                tags,
            } => {
                let url = if url.starts_with("https://") {
                    url.clone()
                } else {
                    format!("https://{url}")
                };
                resources.insert(
                    PROVIDER.into(),
                    json!({
                        "Type": "AWS::IAM::OIDCProvider",
                        "Condition": CREATE_PROVIDER,
                        "Properties": {
                            "Url": url,
                            "ClientIdList": client_ids,
                            "Tags": cfn_tags(tags),
                        }
                    }),
                );
            }
            Change::CreatePolicy {
                name,
                path,
                arn,
                document,
                description: _,
                tags: _,
            } => {
                let id = ids.policy(name);
                policy_ids.insert(arn.clone(), id.clone());
                resources.insert(
                    id,
                    json!({
                        "Type": "AWS::IAM::ManagedPolicy",
                        "Properties": {
                            "ManagedPolicyName": name,
                            "Path": path,
                            "Description": policy_description(&rendered.config),
                            "PolicyDocument": neutral.value(document),
                            "Roles": attach.get(arn).cloned().unwrap_or_default(),
                        }
                    }),
                );
            }
            Change::CreateRole {
                role,
                path,
                description,
                max_session_duration,
                permissions_boundary,
                tags,
                trust_policy,
            } => {
                let id = ids.role(role);
                let mut props = Map::new();
                props.insert("RoleName".into(), json!(role));
                props.insert("Path".into(), json!(path));
                if let Some(d) = description {
                    props.insert("Description".into(), json!(d));
                }
                props.insert("MaxSessionDuration".into(), json!(max_session_duration));
                if let Some(b) = permissions_boundary {
                    props.insert("PermissionsBoundary".into(), neutral.value(&json!(b)));
                }
                props.insert(
                    "AssumeRolePolicyDocument".into(),
                    neutral.trust(trust_policy),
                );
                if let Some(arns) = external.get(role) {
                    props.insert("ManagedPolicyArns".into(), json!(arns));
                }
                props.insert("Tags".into(), cfn_tags(tags));
                resources.insert(
                    id.clone(),
                    json!({"Type": "AWS::IAM::Role", "Properties": props}),
                );
                // Inline policies as their own resources (the same state as the role's
                // `Policies`; moto's CloudFormation mangles documents given that way).
                for p in inline.get(role).into_iter().flatten() {
                    let mut pid = format!(
                        "{id}Inline{}",
                        camel(p["PolicyName"].as_str().unwrap_or(""))
                    );
                    while resources.contains_key(&pid) {
                        pid.push('X');
                    }
                    resources.insert(
                        pid,
                        json!({"Type": "AWS::IAM::Policy", "Properties": {
                            "PolicyName": p["PolicyName"],
                            "PolicyDocument": p["PolicyDocument"],
                            "Roles": [{"Ref": id}],
                        }}),
                    );
                }
                outputs.insert(
                    format!("{id}Arn"),
                    json!({
                        "Description": format!("ARN of role {role} (the AWS_ROLE_ARN variable of its repositories)"),
                        "Value": {"Fn::GetAtt": [id, "Arn"]},
                    }),
                );
            }
            Change::AttachPolicy { .. } | Change::PutInlinePolicy { .. } => {}
            other => {
                return Err(bug(format!(
                    "a fresh account's plan holds {}, which export does not know",
                    other.api()
                )));
            }
        }
    }
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "GitHub Actions OIDC federation for keyless config {}: what `keyless apply` creates in one account. Generated by keyless; regenerate instead of editing.",
            rendered.config
        ),
        "Parameters": {
            CREATE_PROVIDER: {
                "Type": "String",
                "AllowedValues": ["true", "false"],
                "Default": "true",
                "Description": format!(
                    "false when the account already has the OIDC provider for {} (an account holds one per URL); it must then already accept the audiences {}",
                    rendered.issuer,
                    rendered.audiences.join(", ")
                ),
            }
        },
        "Conditions": {
            CREATE_PROVIDER: {"Fn::Equals": [{"Ref": CREATE_PROVIDER}, "true"]}
        },
        "Resources": resources,
    });
    if !outputs.is_empty() {
        template["Outputs"] = Value::Object(outputs);
    }
    Ok(template)
}

fn bug(message: String) -> Error {
    Error::Bug { message }
}

/// CloudFormation's tag list.
fn cfn_tags(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

/// Makes rendered documents account- and partition-neutral.
struct Neutral {
    /// `arn:PARTITION:` as rendered.
    partition: String,
    /// Account IDs that stand for "this account".
    accounts: Vec<String>,
    /// The provider ARN as rendered.
    provider_arn: String,
}

impl Neutral {
    /// Every string naming the sentinel account or the rendered partition becomes a `Fn::Sub`
    /// on `AWS::AccountId` / `AWS::Partition` (a literal `${` is escaped as `${!`).
    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s)
                if s.contains(&self.partition) || self.accounts.iter().any(|a| s.contains(a)) =>
            {
                let mut sub = s
                    .replace("${", "${!")
                    .replace(&self.partition, "arn:${AWS::Partition}:");
                for a in &self.accounts {
                    sub = sub.replace(a, "${AWS::AccountId}");
                }
                json!({ "Fn::Sub": sub })
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.value(x))).collect())
            }
            other => other.clone(),
        }
    }

    /// A trust policy: as [`Neutral::value`], and the provider principal is the provider the
    /// stack creates, or the account's own when it already has one.
    fn trust(&self, trust: &Value) -> Value {
        let mut out = self.value(trust);
        let provider = json!({"Fn::If": [
            CREATE_PROVIDER,
            {"Fn::GetAtt": [PROVIDER, "Arn"]},
            self.value(&json!(self.provider_arn)),
        ]});
        if let Some(statements) = out.get_mut("Statement").and_then(Value::as_array_mut) {
            for st in statements {
                if let Some(fed) = st.pointer_mut("/Principal/Federated")
                    && (fed.as_str() == Some(self.provider_arn.as_str())
                        || *fed == self.value(&json!(self.provider_arn)))
                {
                    *fed = provider.clone();
                }
            }
        }
        out
    }
}

/// CloudFormation logical IDs (alphanumeric) for roles and policies, unique in the template.
struct LogicalIds {
    roles: BTreeMap<String, String>,
    policies: BTreeMap<String, String>,
}

impl LogicalIds {
    fn new(rendered: &Rendered) -> LogicalIds {
        let mut taken: Vec<String> = vec![PROVIDER.into()];
        let mut unique = |prefix: &str, name: &str| {
            let base = format!("{prefix}{}", camel(name));
            let mut id = base.clone();
            let mut n = 2;
            while taken.contains(&id) {
                id = format!("{base}{n}");
                n += 1;
            }
            taken.push(id.clone());
            id
        };
        let mut roles = BTreeMap::new();
        let mut policies = BTreeMap::new();
        for r in &rendered.roles {
            roles.insert(r.name.clone(), unique("Role", &r.name));
            for p in r.policies.iter().filter(|p| p.attach == "managed") {
                policies.insert(p.name.clone(), unique("Policy", &p.name));
            }
        }
        LogicalIds { roles, policies }
    }

    fn role(&self, name: &str) -> String {
        self.roles.get(name).cloned().unwrap_or_else(|| camel(name))
    }

    fn policy(&self, name: &str) -> String {
        self.policies
            .get(name)
            .cloned()
            .unwrap_or_else(|| camel(name))
    }
}

/// `gha-app_1.x` → `GhaApp1X`.
fn camel(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The organisation guard as a CloudFormation template: one `AWS::Organizations::Policy` of type
/// `RESOURCE_CONTROL_POLICY`, attached to the guard's targets and tagged as keyless's, for
/// organisations that manage their policies as code. Deployed in the management account (or by
/// a delegated administrator for Organizations policies), after the RCP type is enabled on the root.
pub fn guard_cloudformation(g: &crate::config::guard::Guard, config: &str) -> Value {
    let tags: Vec<Value> = crate::state::guard::tags(config)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("keyless organisation guard ({config}): deny GitHub OIDC tokens from owners outside the allowed list. Deploy in the management account after enabling RESOURCE_CONTROL_POLICY on the root."),
        "Resources": {
            "KeylessGitHubGuard": {
                "Type": "AWS::Organizations::Policy",
                "Properties": {
                    "Name": g.name,
                    "Description": "keyless: deny GitHub OIDC tokens from owners outside the allowed list",
                    "Type": "RESOURCE_CONTROL_POLICY",
                    "Content": crate::state::guard::render(g),
                    "TargetIds": g.targets,
                    "Tags": tags,
                }
            }
        },
        "Outputs": {
            "GuardPolicyId": {
                "Description": "The guard policy's ID",
                "Value": {"Ref": "KeylessGitHubGuard"}
            }
        }
    })
}

/// The AWS CLI steps that roll the template out with StackSets (service-managed permissions,
/// automatic deployment to `ous`), as a shell script for the management or delegated
/// administrator account.
pub fn stack_set_script(
    name: &str,
    template_file: &str,
    ous: &[String],
    region: &str,
    delegated_admin: bool,
) -> String {
    let call_as = if delegated_admin {
        " \\\n  --call-as DELEGATED_ADMIN"
    } else {
        ""
    };
    format!(
        r#"#!/usr/bin/env bash
# Generated by keyless: roll {template_file} out to every account of the organizational units
# {ous} with CloudFormation StackSets (service-managed permissions), now and in every account
# that joins them later. Run it in the organization's management account, or in a delegated
# administrator account for StackSets (then keep --call-as DELEGATED_ADMIN). StackSets never
# deploy to the management account itself: use `keyless apply` there.
# IAM is global, so one region is enough ({region}). CreateOIDCProvider=true creates the GitHub
# provider; an account that already has one for this URL fails that stack instance: deploy those
# accounts with a parameter override CreateOIDCProvider=false
# (aws cloudformation create-stack-instances ... --parameter-overrides
# ParameterKey=CreateOIDCProvider,ParameterValue=false --deployment-targets Accounts=...).
# Templates over 51,200 bytes must be uploaded to S3 first (--template-url).
set -euo pipefail
aws cloudformation create-stack-set \
  --stack-set-name {name} \
  --template-body file://{template_file} \
  --permission-model SERVICE_MANAGED \
  --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false \
  --capabilities CAPABILITY_NAMED_IAM \
  --parameters ParameterKey=CreateOIDCProvider,ParameterValue=true{call_as}
aws cloudformation create-stack-instances \
  --stack-set-name {name} \
  --deployment-targets OrganizationalUnitIds={ou_list} \
  --regions {region} \
  --operation-preferences FailureToleranceCount=0,MaxConcurrentPercentage=25{call_as}
echo "watch it: aws cloudformation list-stack-instances --stack-set-name {name}{call_as_inline}"
"#,
        ous = ous.join(", "),
        ou_list = ous.join(","),
        call_as_inline = if delegated_admin {
            " --call-as DELEGATED_ADMIN"
        } else {
            ""
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::template::Templates;
    use crate::state::render::{Target, render};
    use std::path::Path;

    fn rendered(text: &str) -> Rendered {
        let cfg = crate::config::parse(text, "k.toml", Path::new(".")).unwrap();
        let target = Target {
            account_id: SENTINEL_ACCOUNT.into(),
            partition: "aws".into(),
        };
        render(&cfg, &Templates::load(None).unwrap(), &target).unwrap()
    }

    const CFG: &str = "name = \"web\"\n[[role]]\nname = \"gha-site\"\ntags = { team = \"web\" }\n[[role.subject]]\nrepo = \"o/r\"\nbranch = \"main\"\n[[role.preset]]\nname = \"s3-deploy\"\nparams = { bucket = \"my-bucket\" }\n";

    #[test]
    fn the_template_holds_what_apply_creates_with_no_account_or_partition_literal() {
        let t = cloudformation(&rendered(CFG)).unwrap();
        let text = t.to_string();
        assert!(!text.contains(SENTINEL_ACCOUNT), "{text}");
        assert!(!text.contains("arn:aws:"), "{text}");
        let res = t["Resources"].as_object().unwrap();
        assert_eq!(
            res.keys().collect::<Vec<_>>(),
            ["GitHubOIDCProvider", "RoleGhaSite", "PolicyGhaSiteS3Deploy"]
        );
        let role = &t["Resources"]["RoleGhaSite"]["Properties"];
        let tags: Vec<(String, String)> = role["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["Key"].as_str().unwrap().into(),
                    t["Value"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(
            tags.contains(&("keyless:config".into(), "web".into())),
            "{tags:?}"
        );
        assert!(tags.contains(&("managed-by".into(), "keyless".into())));
        assert!(tags.contains(&("team".into(), "web".into())));
        let fed = &role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Federated"];
        assert_eq!(fed["Fn::If"][0], "CreateOIDCProvider");
        assert_eq!(fed["Fn::If"][1]["Fn::GetAtt"][0], "GitHubOIDCProvider");
        let policy = &t["Resources"]["PolicyGhaSiteS3Deploy"]["Properties"];
        assert_eq!(policy["Description"], policy_description("web"));
        assert_eq!(policy["Roles"][0]["Ref"], "RoleGhaSite");
        assert_eq!(
            t["Outputs"]["RoleGhaSiteArn"]["Value"]["Fn::GetAtt"][0],
            "RoleGhaSite"
        );
        assert_eq!(
            t["Resources"]["GitHubOIDCProvider"]["Condition"],
            "CreateOIDCProvider"
        );
    }

    #[test]
    fn arns_become_substitutions_and_policy_variables_are_escaped() {
        let n = Neutral {
            partition: "arn:aws:".into(),
            accounts: vec![SENTINEL_ACCOUNT.into(), "123456789012".into()],
            provider_arn: String::new(),
        };
        assert_eq!(
            n.value(&json!("arn:aws:s3:::b/${aws:username}/*")),
            json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::b/${!aws:username}/*"})
        );
        assert_eq!(
            n.value(&json!("arn:aws:iam::000000000000:policy/x")),
            json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/x"})
        );
        assert_eq!(
            n.value(&json!("arn:aws:iam::123456789012:policy/boundary")),
            json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/boundary"})
        );
        assert_eq!(n.value(&json!("s3:GetObject")), json!("s3:GetObject"));
    }

    #[test]
    fn logical_ids_are_alphanumeric_and_unique() {
        assert_eq!(camel("gha-app_1.x"), "GhaApp1X");
        let r = rendered(&format!(
            "{CFG}{}",
            CFG.replace("name = \"web\"\n", "")
                .replace("gha-site", "gha_site")
                .replace("my-bucket", "other-bucket")
        ));
        let ids = LogicalIds::new(&r);
        assert_eq!(ids.role("gha-site"), "RoleGhaSite");
        assert_eq!(ids.role("gha_site"), "RoleGhaSite2");
    }
}
