//! The doctor's report: one step per line, with its status and what to do.

use serde::Serialize;

use crate::auth::challenge::Challenge;

#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum Status {
    Ok,
    Failed,
    /// Worth knowing, not in the way.
    Warning,
    /// Does not apply here.
    Skipped,
}

#[derive(Serialize)]
pub(super) struct Step {
    pub(super) step: &'static str,
    pub(super) status: Status,
    pub(super) detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) hint: Option<String>,
}

#[derive(Default)]
pub(super) struct Report {
    pub(super) steps: Vec<Step>,
}

impl Report {
    pub(super) fn add(&mut self, step: &'static str, status: Status, detail: impl Into<String>, hint: Option<String>) {
        self.steps.push(Step {
            step,
            status,
            detail: detail.into(),
            hint,
        });
    }
    pub(super) fn ok(&mut self, step: &'static str, detail: impl Into<String>) {
        self.add(step, Status::Ok, detail, None);
    }
    pub(super) fn failed(&mut self, step: &'static str, detail: impl Into<String>, hint: impl Into<String>) {
        self.add(step, Status::Failed, detail, Some(hint.into()));
    }
}

/// How the server answered an MCP `initialize` without credentials.
pub(super) enum Probe {
    /// It answered (no sign-in needed for this request).
    Open,
    /// 401/403: it wants credentials.
    Challenged(Challenge),
    /// It does not take MCP here; the step already says why.
    Broken,
}
