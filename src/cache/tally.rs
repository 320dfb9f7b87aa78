//! The report of one docker build under construction: steps as they are seen, and the totals
//! (hits, first miss, invalidation) recomputed from them after every change.

use crate::model::{Builder, CacheReport, CacheStep, FirstMiss, StepState};

/// A docker build being analysed.
#[derive(Debug)]
pub(crate) struct Tally {
    pub report: CacheReport,
    /// Per step (parallel to `report.steps`): which stage it belongs to, for invalidation.
    stage_keys: Vec<u32>,
    /// Interned stage names and platforms (BuildKit), or the legacy FROM counter: a
    /// multi-platform build's platforms are invalidated apart, like stages.
    stages: Vec<(Option<String>, Option<String>)>,
    /// Whether the report changed since it was last emitted.
    pub dirty: bool,
}

impl Tally {
    pub fn new(docker_build: u32, builder: Builder, image: Option<String>) -> Self {
        let mut report = CacheReport::new(docker_build, builder);
        report.image = image;
        Self {
            report,
            stage_keys: Vec::new(),
            stages: Vec::new(),
            dirty: true,
        }
    }

    /// The key of a named stage on a platform, created on first sight.
    pub fn stage_key(&mut self, name: Option<&str>, platform: Option<&str>) -> u32 {
        let pos = self
            .stages
            .iter()
            .position(|(s, p)| s.as_deref() == name && p.as_deref() == platform);
        let pos = pos.unwrap_or_else(|| {
            self.stages
                .push((name.map(str::to_owned), platform.map(str::to_owned)));
            self.stages.len() - 1
        });
        u32::try_from(pos).unwrap_or(u32::MAX)
    }

    /// A new anonymous stage (legacy `FROM` without `AS`, or with one).
    pub fn new_stage(&mut self, name: Option<&str>) -> u32 {
        self.stages.push((name.map(str::to_owned), None));
        u32::try_from(self.stages.len() - 1).unwrap_or(u32::MAX)
    }

    /// Adds a running step; returns its position.
    pub fn add_step(&mut self, index: u32, stage_key: u32, instruction: &str) -> usize {
        let (stage, platform) = self
            .stages
            .get(stage_key as usize)
            .cloned()
            .unwrap_or_default();
        self.report.steps.push(CacheStep {
            index,
            stage,
            platform,
            instruction: instruction.to_owned(),
            cached: false,
            state: StepState::Running,
            duration_ms: None,
            invalidated_by: None,
        });
        self.stage_keys.push(stage_key);
        self.recount();
        self.report.steps.len() - 1
    }

    /// Sets a step's state (and duration, when known) and recounts.
    pub fn set_state(&mut self, pos: usize, state: StepState, duration_ms: Option<u64>) {
        if let Some(step) = self.report.steps.get_mut(pos) {
            if step.state == state && duration_ms.is_none() {
                return;
            }
            step.state = state;
            step.cached = state == StepState::Cached;
            if duration_ms.is_some() {
                step.duration_ms = duration_ms;
            }
            self.recount();
        }
    }

    pub fn set_image(&mut self, image: &str) {
        if self.report.image.as_deref() != Some(image) {
            self.report.image = Some(image.to_owned());
            self.dirty = true;
        }
    }

    pub fn finish(&mut self, error: Option<&str>) {
        self.report.finished = true;
        if let Some(e) = error {
            self.report.error = Some(e.to_owned());
        }
        self.dirty = true;
    }

    /// Recomputes totals, first miss and `invalidated_by` from the steps.
    fn recount(&mut self) {
        let r = &mut self.report;
        r.steps_total = u32::try_from(r.steps.len()).unwrap_or(u32::MAX);
        r.steps_cached = u32::try_from(r.steps.iter().filter(|s| s.cached).count()).unwrap_or(0);
        let is_miss = |s: &CacheStep| matches!(s.state, StepState::Built | StepState::Failed);
        r.first_miss = r.steps.iter().find(|&s| is_miss(s)).map(|s| FirstMiss {
            step: s.index,
            instruction: s.instruction.clone(),
            reason: None,
        });
        // Per stage, the first miss invalidates every later step of that stage.
        let mut first_in_stage: Vec<(u32, u32)> = Vec::new();
        for (step, key) in r.steps.iter_mut().zip(&self.stage_keys) {
            step.invalidated_by = None;
            if step.cached {
                continue;
            }
            match first_in_stage.iter().find(|(k, _)| k == key) {
                Some(&(_, first)) => {
                    step.invalidated_by = (first < step.index).then_some(first);
                }
                None => {
                    if is_miss(step) {
                        first_in_stage.push((*key, step.index));
                    }
                }
            }
        }
        self.dirty = true;
    }
}
