//! `keyless verify`: a real token exchange for a role. What the token says, what the pre-flight
//! evaluation expected, what STS answered and who the session turned out to be.

use serde::Serialize;
use serde_json::{Map, Value};

use keyless::io::aws::ExchangeErrorKind;
pub use keyless::ops::verify::Preflight;

use super::{FORMAT_VERSION, Report};
use crate::app::style;

/// The token as shown (never the token itself).
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    /// Where it came from.
    pub source: String,
    /// The claims worth showing.
    pub claims: Map<String, Value>,
    /// The signature check, when asked for.
    pub signature: Option<String>,
}

/// What STS answered.
#[derive(Debug, Clone, Serialize)]
pub struct StsView {
    /// Credentials were issued.
    pub ok: bool,
    /// Attempts made.
    pub attempts: u32,
    /// STS's `SubjectFromWebIdentityToken`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// STS's `Audience`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// STS's `Provider`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The error code, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The failure's kind, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ExchangeErrorKind>,
    /// The error message, on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The whole error as reported (for the human view).
    #[serde(skip)]
    pub error_text: Option<String>,
}

/// `keyless verify --output json`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Schema version.
    pub format_version: u32,
    /// Role name.
    pub role: String,
    /// Role ARN.
    pub role_arn: String,
    /// The exchange worked and the session is the expected role.
    pub verified: bool,
    /// The token.
    pub token: TokenView,
    /// The pre-flight evaluation.
    pub preflight: Preflight,
    /// The exchange.
    pub sts: StsView,
    /// The session's ARN (GetCallerIdentity with its credentials).
    pub caller_arn: Option<String>,
    /// The ARN it should have.
    pub expected_arn: String,
    /// When the credentials expire.
    pub expiration: Option<String>,
}

impl VerifyReport {
    /// A report; `verified` is derived from the evidence, never set by the caller.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        role: String,
        role_arn: String,
        token: TokenView,
        preflight: Preflight,
        sts: StsView,
        caller_arn: Option<String>,
        expected_arn: String,
        expiration: Option<String>,
    ) -> VerifyReport {
        // Verified needs every piece of evidence to agree: STS issued credentials, they are the
        // expected role's, and the pre-flight evaluation admits the token. When STS admits what
        // the pre-flight denies, the account holds something keyless did not read (or the STS
        // answering checks nothing): that is a disagreement, never VERIFIED.
        let verified = sts.ok
            && caller_arn.as_deref() == Some(expected_arn.as_str())
            && preflight.explanation.allowed;
        VerifyReport {
            format_version: FORMAT_VERSION,
            role,
            role_arn,
            verified,
            token,
            preflight,
            sts,
            caller_arn,
            expected_arn,
            expiration,
        }
    }
}

impl Report for VerifyReport {
    fn human(&self) -> String {
        let mut s = format!("{} {}\n", style::bold("token"), self.token.source);
        for (k, v) in &self.token.claims {
            let v = v
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| v.to_string());
            s.push_str(&format!("  {} {v}\n", style::dim(&format!("{k:<17}"))));
        }
        if let Some(sig) = &self.token.signature {
            s.push_str(&format!(
                "  {} {sig}\n",
                style::dim(&format!("{:<17}", "signature"))
            ));
        }
        let e = &self.preflight.explanation;
        let pre = if e.allowed {
            style::ok("admits")
        } else {
            style::bad(&format!("denies at {}", e.step))
        };
        s.push_str(&format!(
            "{} {pre} ({} trust policy): {}\n",
            style::bold("pre-flight"),
            self.preflight.trust_policy,
            e.message
        ));
        if let Some(f) = &e.fix {
            s.push_str(&format!("  {} {f}\n", style::bold("fix:")));
        }
        match (&self.sts.error_text, &self.caller_arn) {
            (None, Some(arn)) => {
                s.push_str(&format!(
                    "{} AssumeRoleWithWebIdentity succeeded (attempt {})\n",
                    style::bold("exchange"),
                    self.sts.attempts
                ));
                s.push_str(&format!(
                    "{} {arn}{}\n",
                    style::bold("caller"),
                    if *arn == self.expected_arn {
                        String::new()
                    } else {
                        format!("  (expected {})", self.expected_arn)
                    }
                ));
                if let Some(x) = &self.expiration {
                    s.push_str(&format!("{} {x}\n", style::bold("expires")));
                }
                if !e.allowed {
                    s.push_str(&format!(
                        "\n{} STS issued credentials for role {} although the pre-flight ({} trust policy) denies this token at {}.\n  The account holds something keyless did not read (another statement, a changed trust policy), or the STS that answered checks nothing (some emulators). Read the live trust policy (`keyless explain --live`) before relying on this role.",
                        style::bad("DISAGREEMENT:"),
                        self.role,
                        self.preflight.trust_policy,
                        e.step
                    ));
                } else {
                    s.push_str(&format!(
                        "\n{} role {} works for this token.",
                        if self.verified {
                            style::ok("VERIFIED")
                        } else {
                            style::bad("MISMATCH")
                        },
                        self.role
                    ));
                }
            }
            (Some(err), _) => s.push_str(&format!(
                "{} {err}\n\n{} role {} would not work for this job.",
                style::bold("exchange"),
                style::bad("NOT VERIFIED"),
                self.role
            )),
            _ => {}
        }
        s
    }
}
