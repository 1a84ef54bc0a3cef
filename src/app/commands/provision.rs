//! Commands that change IAM: plan (read-only preview), apply and destroy, in one account or
//! each of `[accounts]`. The steps are [`crate::app::flow`]'s (shared with init and
//! migrate-subjects).

use keyless::error::Result;

use crate::app::args::{ApplyArgs, DestroyArgs, PlanArgs};
use crate::app::exit::ExitStatus;
use crate::app::flow;
use crate::app::session::Session;

/// `keyless plan`
pub fn cmd_plan(s: &Session, args: &PlanArgs) -> Result<ExitStatus> {
    flow::plan(s, args.detailed_exitcode)
}

/// `keyless apply`
pub fn cmd_apply(s: &Session, args: &ApplyArgs) -> Result<ExitStatus> {
    flow::apply(s, args.yes, args.verify)
}

/// `keyless destroy`
pub fn cmd_destroy(s: &Session, args: &DestroyArgs) -> Result<ExitStatus> {
    flow::destroy(s, args.yes)
}
