//! Approval workflows as data and as a pure state machine. A definition (shipped in `workflows.toml`) lists,
//! per request kind, its steps: who acts, which run in parallel, which only when the change calls for them. A
//! request moves draft → in_review → in_approval → approved → applied, or ends rejected or withdrawn, or goes
//! back to its initiator (returned) to be revised and resubmitted. The service drives it; nothing here does I/O.

use serde::{Deserialize, Serialize};

/// DO NOT CHANGE without a new definitions version: the shipped default flows.
pub const DEFAULT_DEFINITIONS: &str = include_str!("workflows.toml");

/// All flows of one definitions version.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Definitions {
    /// Version.
    pub version: u32,
    /// Flows by kind.
    #[serde(rename = "flow")]
    pub flows: Vec<FlowDef>,
}

/// One kind of request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FlowDef {
    /// `create`, `update`, `promotion`, `transfer`, `resignation`, …
    pub kind: String,
    /// Fields whose change alone takes the fast path.
    #[serde(default)]
    pub fast_path: Vec<String>,
    /// Steps.
    #[serde(rename = "step", default)]
    pub steps: Vec<StepDef>,
}

/// One step of a flow.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Name.
    pub name: String,
    /// `review` or `approval`.
    pub stage: Stage,
    /// Who acts (see `workflows.toml`).
    pub assignee: String,
    /// Only when the change calls for it.
    #[serde(default = "always")]
    pub when: String,
    /// Steps of one group run in parallel; groups in order.
    pub group: u32,
}

fn always() -> String {
    "always".into()
}

/// Review or approval.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reviews by departments.
    Review,
    /// Approval levels.
    Approval,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Being written.
    Draft,
    /// With reviewers.
    InReview,
    /// With the approval levels.
    InApproval,
    /// Approved, not applied (e.g. flagged as conflicting).
    Approved,
    /// Applied to the dossier.
    Applied,
    /// Rejected.
    Rejected,
    /// Returned to the initiator for changes.
    Returned,
    /// Withdrawn by the initiator.
    Withdrawn,
}

/// Where a step stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not reached yet.
    Waiting,
    /// Waiting for its assignee.
    Pending,
    /// Approved.
    Approved,
    /// Rejected.
    Rejected,
    /// Returned.
    Returned,
}

/// A step of a request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Step {
    /// Name.
    pub name: String,
    /// Stage.
    pub stage: Stage,
    /// Who acts.
    pub assignee: String,
    /// Group.
    pub group: u32,
    /// State.
    pub state: StepState,
    /// When it became pending (Unix seconds).
    pub since: Option<i64>,
    /// Deadline (Unix seconds).
    pub due: Option<i64>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When (Unix seconds).
    #[serde(default)]
    pub decided_at: Option<i64>,
}

/// What a change touches, for the `when` conditions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Touches {
    /// Salary fields.
    pub salary: bool,
    /// Contract fields.
    pub contract: bool,
    /// Position or rank.
    pub position: bool,
    /// Department.
    pub department: bool,
}

impl Touches {
    /// From the changed field names.
    pub fn of(fields: &[String]) -> Self {
        let has = |names: &[&str]| fields.iter().any(|f| names.contains(&f.as_str()));
        Touches {
            salary: has(&["salary_grade", "salary", "settlement"]),
            contract: has(&["contract_change", "contracts", "agreement"]),
            position: has(&["position", "rank", "appointments"]),
            department: has(&["department"]),
        }
    }

    fn wants(&self, when: &str) -> bool {
        match when {
            "salary" => self.salary,
            "contract" => self.contract,
            "position" => self.position,
            "department" => self.department,
            _ => true,
        }
    }
}

/// Default number of days a step may take.
pub const STEP_DAYS: i64 = 5;

impl Definitions {
    /// The shipped flows.
    pub fn default_definitions() -> Result<Self, String> {
        let d: Definitions = toml::from_str(DEFAULT_DEFINITIONS).map_err(|e| e.to_string())?;
        d.validate()?;
        Ok(d)
    }

    /// Checks a definitions document.
    pub fn validate(&self) -> Result<(), String> {
        for f in &self.flows {
            for s in &f.steps {
                let ok = s.assignee.starts_with("role:")
                    || s.assignee == "head:person"
                    || s.assignee == "head:new"
                    || s.assignee.strip_prefix("leader:").is_some_and(|n| n.parse::<u8>().is_ok());
                if !ok {
                    return Err(format!("flow {}: step {} has an unknown assignee {:?}", f.kind, s.name, s.assignee));
                }
            }
        }
        Ok(())
    }

    /// A flow by kind.
    pub fn flow(&self, kind: &str) -> Option<&FlowDef> {
        self.flows.iter().find(|f| f.kind == kind)
    }
}

impl FlowDef {
    /// The steps a change calls for.
    pub fn steps_for(&self, touches: Touches) -> Vec<Step> {
        self.steps
            .iter()
            .filter(|s| touches.wants(&s.when))
            .map(|s| Step {
                name: s.name.clone(),
                stage: s.stage,
                assignee: s.assignee.clone(),
                group: s.group,
                state: StepState::Waiting,
                since: None,
                due: None,
                decided_by: None,
                decided_at: None,
            })
            .collect()
    }

    /// Whether a change of these fields takes the fast path.
    pub fn is_fast(&self, fields: &[String]) -> bool {
        !fields.is_empty() && fields.iter().all(|f| self.fast_path.contains(f))
    }
}

/// Opens the first group that has steps; returns the resulting state (`Approved` when there is none).
pub fn open_next_group(steps: &mut [Step], now: i64) -> RequestState {
    let next = steps.iter().filter(|s| s.state == StepState::Waiting).map(|s| s.group).min();
    match next {
        None => RequestState::Approved,
        Some(g) => {
            let mut stage = Stage::Review;
            for s in steps.iter_mut().filter(|s| s.group == g) {
                s.state = StepState::Pending;
                s.since = Some(now);
                s.due = Some(now + STEP_DAYS * 86_400);
                stage = s.stage;
            }
            match stage {
                Stage::Review => RequestState::InReview,
                Stage::Approval => RequestState::InApproval,
            }
        }
    }
}

/// Records an approval of a pending step; returns the request's next state.
pub fn approve(steps: &mut [Step], step: usize, by: &str, now: i64) -> RequestState {
    steps[step].state = StepState::Approved;
    steps[step].decided_by = Some(by.into());
    steps[step].decided_at = Some(now);
    let group = steps[step].group;
    if steps.iter().any(|s| s.group == group && s.state == StepState::Pending) {
        return match steps[step].stage {
            Stage::Review => RequestState::InReview,
            Stage::Approval => RequestState::InApproval,
        };
    }
    open_next_group(steps, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_definitions_parse_and_route_by_content() {
        let d = Definitions::default_definitions().unwrap();
        let update = d.flow("update").unwrap();
        assert!(update.is_fast(&["phone".into()]));
        assert!(!update.is_fast(&["phone".into(), "salary_grade".into()]));
        let steps = update.steps_for(Touches::of(&["salary_grade".into()]));
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["finance-review", "leader-1", "leader-2"]);
        let promo = d.flow("promotion").unwrap().steps_for(Touches::of(&["position".into(), "contract_change".into()]));
        let names: Vec<&str> = promo.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["head-review", "legal-review", "leader-1", "leader-2"]);
    }

    #[test]
    fn groups_run_in_order_and_parallel_steps_all_pass() {
        let d = Definitions::default_definitions().unwrap();
        let mut steps = d.flow("update").unwrap().steps_for(Touches::of(&["salary_grade".into(), "contracts".into()]));
        assert_eq!(open_next_group(&mut steps, 0), RequestState::InReview);
        assert_eq!(steps.iter().filter(|s| s.state == StepState::Pending).count(), 2);
        assert_eq!(
            approve(&mut steps, 0, "finance", 1),
            RequestState::InReview,
            "the parallel legal step is still open"
        );
        assert_eq!(approve(&mut steps, 1, "legal", 2), RequestState::InApproval);
        assert_eq!(approve(&mut steps, 2, "leader1", 3), RequestState::InApproval);
        assert_eq!(approve(&mut steps, 3, "leader2", 4), RequestState::Approved);
    }

    #[test]
    fn a_bad_assignee_is_refused() {
        let mut d = Definitions::default_definitions().unwrap();
        d.flows[0].steps[0].assignee = "someone".into();
        assert!(d.validate().is_err());
    }
}
