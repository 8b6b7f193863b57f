//! Approval workflows as data and as a pure state machine. A definition (shipped in `workflows.toml`) lists,
//! per request kind, its steps: who acts, which run in parallel, which only when the change calls for them. A
//! request moves draft → in_review → in_approval → approved → applied, or ends rejected or withdrawn, or goes
//! back to its initiator (returned) to be revised and resubmitted. The service drives it; nothing here does I/O.
//!
//! No insider can step around a flow: [`Definitions::validate`] refuses a document under which a change could be
//! approved without a decision by someone other than its initiator, and [`settle`] sees to it that every open
//! step has someone who may decide it — a step nobody eligible can decide is escalated (folded into a later step
//! of the escalation target, or handed to it), and one that cannot be escalated is flagged as stuck, never left
//! silently waiting.

use super::RequestKind;
use serde::{Deserialize, Serialize};

/// The shipped default flows. DO NOT CHANGE an existing flow without a new definitions version (requests keep
/// the version they started under, and version 1 is read from here); adding the flow of a new kind changes no
/// running request.
pub const DEFAULT_DEFINITIONS: &str = include_str!("workflows.toml");

/// All flows of one definitions version.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Definitions {
    /// Version.
    pub version: u32,
    /// Flows by kind.
    #[serde(rename = "flow")]
    pub flows: Vec<FlowDef>,
}

/// One kind of request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
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
    /// Who takes the step over when nobody eligible can decide it (an assignee expression); by default the
    /// next approval level ([`default_escalation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<String>,
}

fn always() -> String {
    "always".into()
}

/// Review or approval.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reviews by departments.
    Review,
    /// Approval levels.
    Approval,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "draft → in_review → in_approval → approved → applied, or rejected, withdrawn, or returned to the \
        initiator to be revised. `approved` without `applied` means the change conflicts (see `conflict`)."
)]
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
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "waiting: not reached yet; pending: waiting for its assignee; approved; rejected; returned.")]
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
    /// Nobody eligible could decide it: taken over by a later step of its escalation target (`folded_into`);
    /// it needs no decision of its own.
    Escalated,
}

/// A step of a request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
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
    /// Who takes the step over when nobody eligible can decide it (from the definition; none: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<String>,
    /// The assignee the definition named, when the step was escalated to another.
    #[serde(default)]
    pub escalated_from: Option<String>,
    /// The later step that took this one over (state `escalated`).
    #[serde(default)]
    pub folded_into: Option<String>,
    /// Nobody eligible can decide the step, and it could not be escalated: the security administrator is told.
    #[serde(default)]
    pub stuck: bool,
    /// Why it is stuck.
    #[serde(default)]
    pub stuck_reason: Option<String>,
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
            // `always`; definitions name no other condition (validated), and a step is never dropped by doubt.
            _ => true,
        }
    }
}

/// Default number of days a step may take.
pub const STEP_DAYS: i64 = 5;

/// The conditions a step's `when` may name.
pub const CONDITIONS: [&str; 5] = ["always", "salary", "contract", "position", "department"];

/// The routine fields a `fast_path` may list (and only in the `update` flow): a change of these alone is
/// applied at once by HR, without a decision.
pub const ROUTINE_FIELDS: [&str; 4] = ["phone", "address", "training", "former_names"];

/// Whether `a` is an assignee expression (`role:<role>`, `head:person`, `head:new`, `leader:<n>`).
fn valid_assignee(a: &str) -> bool {
    a.strip_prefix("role:").is_some_and(|r| super::user::Role::parse(r).is_some())
        || a == "head:person"
        || a == "head:new"
        || a.strip_prefix("leader:").is_some_and(|n| n.parse::<u8>().is_ok_and(|n| n >= 1))
}

/// Where a step goes when nobody eligible can decide it, unless its definition says otherwise: the next
/// approval level — a department head or a department role to leader 1, leader n to leader n + 1.
pub fn default_escalation(assignee: &str) -> Option<String> {
    if let Some(n) = assignee.strip_prefix("leader:") {
        return n.parse::<u8>().ok()?.checked_add(1).map(|n| format!("leader:{n}"));
    }
    (assignee.starts_with("head:") || assignee.starts_with("role:")).then(|| "leader:1".to_string())
}

impl Definitions {
    /// The shipped flows.
    pub fn default_definitions() -> Result<Self, String> {
        let d: Definitions = toml::from_str(DEFAULT_DEFINITIONS).map_err(|e| e.to_string())?;
        d.validate()?;
        Ok(d)
    }

    /// Checks a definitions document: no kind may reach `approved` without a decision by someone other than its
    /// initiator. Every kind has its flow (once); every assignee and escalation target is an assignee
    /// expression; `when` names a known condition; every flow has a step that always runs; `fast_path` lists
    /// routine fields only, and only in the `update` flow; `consultation` keeps an approval step; `destruction`
    /// keeps a leader's step and two signatures in one parallel group. The error names the flow and the rule.
    pub fn validate(&self) -> Result<(), String> {
        let err = |kind: &str, rule: &str, why: String| Err(format!("flow {kind}: rule workflow.{rule}: {why}"));
        for kind in RequestKind::ALL.map(RequestKind::as_str) {
            match self.flows.iter().filter(|f| f.kind == kind).count() {
                0 => return err(kind, "kinds", "the flow is missing; every kind of request needs one".into()),
                1 => {}
                _ => return err(kind, "kinds", "the flow is defined twice".into()),
            }
        }
        for f in &self.flows {
            let kind = f.kind.as_str();
            let Some(k) = RequestKind::parse(kind) else {
                return err(kind, "kinds", format!("unknown kind; known: {}", RequestKind::names()));
            };
            for (i, s) in f.steps.iter().enumerate() {
                if f.steps[..i].iter().any(|o| o.name == s.name) {
                    return err(kind, "step-names", format!("two steps are named {:?}", s.name));
                }
                if !valid_assignee(&s.assignee) {
                    return err(kind, "assignee", format!("step {} has an unknown assignee {:?}", s.name, s.assignee));
                }
                if let Some(e) = &s.escalate
                    && !valid_assignee(e)
                {
                    return err(kind, "escalate", format!("step {} escalates to an unknown assignee {e:?}", s.name));
                }
                if !CONDITIONS.contains(&s.when.as_str()) {
                    return err(
                        kind,
                        "when",
                        format!("step {} runs when {:?}; known conditions: {}", s.name, s.when, CONDITIONS.join(", ")),
                    );
                }
            }
            let always: Vec<&StepDef> = f.steps.iter().filter(|s| s.when == "always").collect();
            if always.is_empty() {
                return err(
                    kind,
                    "always-step",
                    "no step runs whatever the change (when = \"always\"), so a change could be approved without \
                     a decision by anyone but its initiator"
                        .into(),
                );
            }
            if !f.fast_path.is_empty() && !k.is_routine() {
                return err(kind, "fast-path", "only the update flow has a fast path".into());
            }
            if let Some(bad) = f.fast_path.iter().find(|x| !ROUTINE_FIELDS.contains(&x.as_str())) {
                return err(
                    kind,
                    "fast-path",
                    format!("{bad:?} is not a routine field; the fast path may list {}", ROUTINE_FIELDS.join(", ")),
                );
            }
            if k == RequestKind::Consultation && !always.iter().any(|s| s.stage == Stage::Approval) {
                return err(kind, "consultation", "a consultation keeps an approval step".into());
            }
            if k == RequestKind::Destruction {
                if !always.iter().any(|s| s.assignee.starts_with("leader:")) {
                    return err(kind, "destruction", "a destruction keeps a leader's approval step".into());
                }
                let signed_twice = always.iter().any(|s| always.iter().filter(|o| o.group == s.group).count() >= 2);
                if !signed_twice {
                    return err(
                        kind,
                        "destruction",
                        "a destruction keeps two signatures in one parallel group (two distinct supervisors)".into(),
                    );
                }
            }
        }
        Ok(())
    }

    /// A flow by kind (a [`RequestKind`], or its name).
    pub fn flow(&self, kind: impl AsRef<str>) -> Option<&FlowDef> {
        self.flows.iter().find(|f| f.kind == kind.as_ref())
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
                escalate: s.escalate.clone(),
                escalated_from: None,
                folded_into: None,
                stuck: false,
                stuck_reason: None,
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
    steps[step].stuck = false;
    steps[step].stuck_reason = None;
    let group = steps[step].group;
    if steps.iter().any(|s| s.group == group && s.state == StepState::Pending) {
        return match steps[step].stage {
            Stage::Review => RequestState::InReview,
            Stage::Approval => RequestState::InApproval,
        };
    }
    open_next_group(steps, now)
}

/// What an eligibility check found for an assignee of a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Someone may decide it.
    Someone,
    /// Nobody may: why, and whether nobody (enabled) holds the assignee at all.
    Nobody {
        /// Why, in words.
        why: String,
        /// No account holds it.
        vacant: bool,
    },
}

/// What [`settle`] did to a step, for the request's timeline and the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Escalated to `to`, who already decides the later step `into`: the step needs no decision of its own.
    Folded {
        /// The step.
        step: String,
        /// The escalation target.
        to: String,
        /// The step that takes it over.
        into: String,
        /// Why nobody could decide it.
        why: String,
    },
    /// Handed to `to`.
    Escalated {
        /// The step.
        step: String,
        /// Its assignee before.
        from: String,
        /// Its assignee now.
        to: String,
        /// Why nobody could decide it.
        why: String,
    },
    /// Nobody eligible can decide it and it cannot be escalated further.
    Stuck {
        /// The step.
        step: String,
        /// Why.
        why: String,
    },
    /// A stuck step has someone who may decide it again.
    Unstuck {
        /// The step.
        step: String,
    },
}

impl Routing {
    /// The timeline's line for it.
    pub fn text(&self) -> String {
        match self {
            Routing::Folded { step, to, into, why } => format!("步骤 {step} 升级至 {to}，并入步骤 {into}：{why}"),
            Routing::Escalated { step, to, why, .. } => format!("步骤 {step} 升级至 {to}：{why}"),
            Routing::Stuck { step, why } => format!("步骤 {step} 无人可处理，已通知安全保密管理员：{why}"),
            Routing::Unstuck { step } => format!("步骤 {step} 已有可处理人"),
        }
    }
}

/// Escalations one step may take before it counts as stuck.
const MAX_HOPS: usize = 8;

/// Sees to it that every pending step has someone who may decide it. `check(step, assignee)` says whether
/// anyone eligible may decide the named step as that assignee. A step nobody may decide escalates (its
/// definition's `escalate`, else [`default_escalation`]): when the target already decides a later (waiting or
/// pending) step, the step is folded into that one (state `Escalated`, `folded_into`); otherwise the target
/// becomes its assignee (the first kept in `escalated_from`) and is checked in turn. A target nobody holds is
/// not taken. A step left with nobody is flagged `stuck`. When folding empties the open group, the next group
/// opens and is settled too. Returns the request's state and what was done.
pub fn settle(
    steps: &mut [Step],
    state: RequestState,
    now: i64,
    mut check: impl FnMut(&str, &str) -> Check,
) -> (RequestState, Vec<Routing>) {
    let mut out = Vec::new();
    let mut state = state;
    while matches!(state, RequestState::InReview | RequestState::InApproval) {
        let pending: Vec<usize> = (0..steps.len()).filter(|&i| steps[i].state == StepState::Pending).collect();
        for &i in &pending {
            settle_step(steps, i, &mut check, &mut out);
        }
        if steps.iter().any(|s| s.state == StepState::Pending) {
            break;
        }
        state = open_next_group(steps, now);
    }
    (state, out)
}

fn settle_step(steps: &mut [Step], i: usize, check: &mut impl FnMut(&str, &str) -> Check, out: &mut Vec<Routing>) {
    let name = steps[i].name.clone();
    let was_stuck = steps[i].stuck;
    let mut at = steps[i].assignee.clone();
    let mut why = match check(&name, &at) {
        Check::Someone => {
            if was_stuck {
                steps[i].stuck = false;
                steps[i].stuck_reason = None;
                out.push(Routing::Unstuck { step: name });
            }
            return;
        }
        Check::Nobody { why, .. } => why,
    };
    let mut visited = vec![at.clone()];
    let mut reasons = vec![format!("{at}：{why}")];
    let mut target = steps[i].escalate.clone().filter(|e| *e != at).or_else(|| default_escalation(&at));
    while let Some(to) = target.take() {
        if visited.contains(&to) || visited.len() > MAX_HOPS {
            break;
        }
        let group = steps[i].group;
        let later = (0..steps.len()).find(|&j| {
            j != i
                && steps[j].group >= group
                && matches!(steps[j].state, StepState::Waiting | StepState::Pending)
                && steps[j].assignee == to
        });
        if let Some(j) = later {
            let into = steps[j].name.clone();
            let s = &mut steps[i];
            s.escalated_from.get_or_insert_with(|| s.assignee.clone());
            s.assignee = to.clone();
            s.state = StepState::Escalated;
            s.folded_into = Some(into.clone());
            s.stuck = false;
            s.stuck_reason = None;
            out.push(Routing::Folded { step: name, to, into, why });
            return;
        }
        match check(&name, &to) {
            Check::Nobody { why: w, vacant: true } => {
                reasons.push(format!("{to}：{w}"));
                break;
            }
            found => {
                let s = &mut steps[i];
                s.escalated_from.get_or_insert_with(|| s.assignee.clone());
                s.assignee = to.clone();
                out.push(Routing::Escalated { step: name.clone(), from: at, to: to.clone(), why });
                match found {
                    Check::Someone => {
                        if s.stuck {
                            s.stuck = false;
                            s.stuck_reason = None;
                            out.push(Routing::Unstuck { step: name });
                        }
                        return;
                    }
                    Check::Nobody { why: w, .. } => {
                        reasons.push(format!("{to}：{w}"));
                        visited.push(to.clone());
                        why = w;
                        target = default_escalation(&to);
                        at = to;
                    }
                }
            }
        }
    }
    let why = reasons.join("；");
    let s = &mut steps[i];
    s.stuck = true;
    s.stuck_reason = Some(why.clone());
    if !was_stuck {
        out.push(Routing::Stuck { step: name, why });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_definitions_parse_and_route_by_content() {
        let d = Definitions::default_definitions().unwrap();
        let update = d.flow(RequestKind::Update).unwrap();
        assert!(update.is_fast(&["phone".into()]));
        assert!(!update.is_fast(&["phone".into(), "salary_grade".into()]));
        let steps = update.steps_for(Touches::of(&["salary_grade".into()]));
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["finance-review", "leader-1", "leader-2"]);
        let promo = d
            .flow(RequestKind::Promotion)
            .unwrap()
            .steps_for(Touches::of(&["position".into(), "contract_change".into()]));
        let names: Vec<&str> = promo.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["head-review", "legal-review", "leader-1", "leader-2"]);
    }

    #[test]
    fn groups_run_in_order_and_parallel_steps_all_pass() {
        let d = Definitions::default_definitions().unwrap();
        let mut steps =
            d.flow(RequestKind::Update).unwrap().steps_for(Touches::of(&["salary_grade".into(), "contracts".into()]));
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
        let mut d = Definitions::default_definitions().unwrap();
        d.flows[0].steps[0].assignee = "role:finanse".into();
        assert!(d.validate().is_err());
        let mut d = Definitions::default_definitions().unwrap();
        d.flows[0].steps[0].escalate = Some("leader:x".into());
        assert!(d.validate().unwrap_err().contains("rule workflow.escalate"));
    }

    fn flow_mut<'a>(d: &'a mut Definitions, kind: &str) -> &'a mut FlowDef {
        d.flows.iter_mut().find(|f| f.kind == kind).unwrap()
    }

    #[test]
    fn no_flow_can_empty_itself() {
        let refused = |edit: &dyn Fn(&mut Definitions), flow: &str, rule: &str| {
            let mut d = Definitions::default_definitions().unwrap();
            edit(&mut d);
            let e = d.validate().unwrap_err();
            assert!(e.starts_with(&format!("flow {flow}: rule workflow.{rule}:")), "{e}");
        };
        refused(&|d| flow_mut(d, "consultation").steps.clear(), "consultation", "always-step");
        refused(&|d| d.flows.retain(|f| f.kind != "destruction"), "destruction", "kinds");
        refused(&|d| d.flows.push(d.flows[0].clone()), "create", "kinds");
        refused(
            &|d| flow_mut(d, "promotion").steps.iter_mut().for_each(|s| s.when = "salary".into()),
            "promotion",
            "always-step",
        );
        refused(&|d| flow_mut(d, "update").steps[4].when = "alway".into(), "update", "when");
        refused(&|d| flow_mut(d, "update").fast_path.push("salary_grade".into()), "update", "fast-path");
        refused(&|d| flow_mut(d, "promotion").fast_path.push("phone".into()), "promotion", "fast-path");
        refused(&|d| flow_mut(d, "consultation").steps[0].stage = Stage::Review, "consultation", "consultation");
        refused(&|d| flow_mut(d, "destruction").steps[2].group = 3, "destruction", "destruction");
        refused(&|d| flow_mut(d, "destruction").steps[0].assignee = "role:admin".into(), "destruction", "destruction");
        refused(&|d| flow_mut(d, "transfer").steps[1].name = "old-head-review".into(), "transfer", "step-names");
        // Dropping the second approval level is allowed: one step that always runs is enough.
        let mut d = Definitions::default_definitions().unwrap();
        flow_mut(&mut d, "update").steps.truncate(4);
        d.validate().unwrap();
    }

    fn promotion_of(fields: &[&str]) -> Vec<Step> {
        let d = Definitions::default_definitions().unwrap();
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        d.flow(RequestKind::Promotion).unwrap().steps_for(Touches::of(&fields))
    }

    #[test]
    fn a_step_nobody_may_decide_is_folded_into_the_next_level() {
        // A department head's own promotion: the head may not review it.
        let mut steps = promotion_of(&["position"]);
        let state = open_next_group(&mut steps, 0);
        assert_eq!(state, RequestState::InReview);
        let (state, routed) = settle(&mut steps, state, 0, |step, assignee| match (step, assignee) {
            ("head-review", "head:person") => {
                Check::Nobody { why: "head-ops 本人为当事人".into(), vacant: false }
            }
            _ => Check::Someone,
        });
        assert_eq!(state, RequestState::InApproval, "leader 1 decides at once");
        assert_eq!(
            routed,
            [Routing::Folded {
                step: "head-review".into(),
                to: "leader:1".into(),
                into: "leader-1".into(),
                why: "head-ops 本人为当事人".into()
            }]
        );
        assert!(routed[0].text().contains("head-review") && routed[0].text().contains("leader:1"));
        let head = &steps[0];
        assert_eq!((head.state, head.folded_into.as_deref()), (StepState::Escalated, Some("leader-1")));
        assert_eq!((head.assignee.as_str(), head.escalated_from.as_deref()), ("leader:1", Some("head:person")));
        assert_eq!(steps[1].state, StepState::Pending);
        assert_eq!(approve(&mut steps, 1, "leader1", 1), RequestState::InApproval);
        assert_eq!(approve(&mut steps, 2, "leader2", 2), RequestState::Approved);
    }

    #[test]
    fn escalation_hands_over_or_ends_stuck() {
        // A step with its own escalation target, not assignee of a later step: handed over.
        let mut steps = promotion_of(&["salary_grade"]);
        steps[1].escalate = Some("role:admin".into());
        let mut state = open_next_group(&mut steps, 0);
        assert_eq!(approve(&mut steps, 0, "head-ops", 0), RequestState::InReview);
        let finance_gone = |_: &str, a: &str| match a {
            "role:finance" => Check::Nobody { why: "无人担任".into(), vacant: true },
            _ => Check::Someone,
        };
        (state, _) = settle(&mut steps, state, 0, finance_gone);
        assert_eq!(state, RequestState::InReview);
        assert_eq!(steps[1].state, StepState::Pending);
        assert_eq!(
            (steps[1].assignee.as_str(), steps[1].escalated_from.as_deref()),
            ("role:admin", Some("role:finance"))
        );

        // Leader 2's own promotion: nobody holds a level 3, so the step stays pending, flagged once.
        let mut steps = promotion_of(&["position"]);
        let n = steps.len();
        open_next_group(&mut steps, 0);
        for i in 0..n - 1 {
            approve(&mut steps, i, &format!("u{i}"), 0);
        }
        let nobody_above = |_: &str, a: &str| match a {
            "leader:2" => Check::Nobody { why: "leader2 本人为当事人".into(), vacant: false },
            "leader:3" => Check::Nobody { why: "无人担任".into(), vacant: true },
            _ => Check::Someone,
        };
        let (state, routed) = settle(&mut steps, RequestState::InApproval, 0, nobody_above);
        assert_eq!(state, RequestState::InApproval);
        assert!(matches!(&routed[..], [Routing::Stuck { step, .. }] if step == "leader-2"), "{routed:?}");
        let last = &steps[n - 1];
        assert!(last.stuck && last.state == StepState::Pending && last.assignee == "leader:2");
        assert!(last.stuck_reason.as_deref().unwrap().contains("leader:3"));
        let (_, again) = settle(&mut steps, state, 0, nobody_above);
        assert!(again.is_empty(), "flagged once");
        let (_, freed) = settle(&mut steps, state, 0, |_, _| Check::Someone);
        assert_eq!(freed, [Routing::Unstuck { step: "leader-2".into() }]);
        assert!(!steps[n - 1].stuck);
    }
}
