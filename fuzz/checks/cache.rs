//! The `cache` fuzz target's property, shared with the seed replay of the test suite
//! (`tests/fuzz_seeds.rs`): any bytes, split into lines (as a build log is), fed to the
//! layer-cache analyzer (`cbdash::cache::Analyzer`) give reports whose counts add up, never a
//! panic. The first byte picks a clock step so that step durations are exercised too.

/// Panics when `data` breaks the property.
pub fn check(data: &[u8]) {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut analyzer = cbdash::cache::Analyzer::new();
    let mut now = 0u64;
    let mut reports = Vec::new();
    for line in text.split('\n') {
        now += u64::from(step);
        reports.extend(analyzer.feed_at(line, now));
    }
    reports.extend(analyzer.finish());
    let id = cbdash::model::BuildId("fuzz:1".into());
    for r in &reports {
        assert!(r.steps_cached <= r.steps_total, "{r:?}");
        let _ = r.to_ndjson(&id);
    }
}
