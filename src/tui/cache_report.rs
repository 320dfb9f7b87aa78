//! The per-Dockerfile cache report as text lines: what `cbdash cache` prints and what the
//! dashboard's `x` overlay shows (one renderer, so both say the same). Pure: the report is
//! computed by `crate::cache::CacheOverview`, the lines fit `width` columns.

use std::fmt::Write as _;

use super::fit::{ellipsize, wrap};
use super::fmt::fmt_ms;
use super::spark::{bar, step_runs};
use crate::cache::CacheOverview;

/// The report on every Dockerfile, `width` columns wide (at least 40 are used).
#[must_use]
pub fn report_lines(overviews: &[CacheOverview], width: usize) -> Vec<String> {
    let width = width.max(40);
    let mut out = Vec::new();
    for (i, o) in overviews.iter().enumerate() {
        if i > 0 {
            out.push(String::new());
        }
        overview_lines(o, width, &mut out);
    }
    out
}

fn overview_lines(o: &CacheOverview, width: usize, out: &mut Vec<String>) {
    out.push(ellipsize(
        &format!(
            "{} · project {} · last {} docker build{}",
            o.label,
            o.project,
            o.builds,
            if o.builds == 1 { "" } else { "s" }
        ),
        width,
    ));
    let ratios: String = o
        .hit_ratio
        .iter()
        .map(|p| p.ratio.map_or(' ', bar))
        .collect();
    let mut summary = format!("  hit ratio, oldest → newest  {ratios}");
    if let Some(mean) = o.mean_hit_ratio() {
        let _ = write!(summary, "  mean {:.0}%", mean * 100.0);
    }
    if let Some(last) = o.hit_ratio.last().and_then(|p| p.ratio) {
        let _ = write!(summary, " · last {:.0}%", last * 100.0);
    }
    out.push(ellipsize(&summary, width));
    steps(o, width, out);
    if !o.expensive_misses.is_empty() {
        out.push("Most expensive misses".to_owned());
        for m in &o.expensive_misses {
            out.push(ellipsize(
                &format!(
                    "  {}  {} in {} of {} builds",
                    m.instruction,
                    fmt_ms(m.cost_ms),
                    m.misses,
                    m.builds
                ),
                width,
            ));
        }
    }
    if !o.reasons.is_empty() {
        out.push("Reasons seen".to_owned());
        for r in &o.reasons {
            let mut line = format!("  {} ×{}", r.kind.as_str(), r.count);
            if !r.evidence.is_empty() {
                let _ = write!(line, ": {}", r.evidence.join(", "));
            }
            out.push(ellipsize(&line, width));
        }
    }
    advice(o, width, out);
}

/// A row per step: its instruction, a sparkline of its last runs (a bar per miss, as tall as
/// the step took; `·` a hit; blank: not in that build), its miss rate and what its misses
/// cost.
fn steps(o: &CacheOverview, width: usize, out: &mut Vec<String>) {
    if o.steps.is_empty() {
        return;
    }
    let spark_w = o.builds as usize;
    let spark_col = spark_w.max("last runs".len());
    // `  ` instruction ` ` spark ` ` miss(5) ` ` cost(7)
    let instr_w = width
        .saturating_sub(2 + 1 + spark_col + 1 + 5 + 1 + 7)
        .max(12);
    out.push(format!(
        "{:<w$} {:<spark_col$} {:>5} {:>7}",
        "Steps",
        "last runs",
        "miss",
        "cost",
        w = instr_w + 2
    ));
    for s in &o.steps {
        let name = super::cache_panel::step_label(s.platform.as_deref(), &s.instruction);
        let cost = if s.miss_cost_ms > 0 {
            fmt_ms(s.miss_cost_ms)
        } else {
            "-".to_owned()
        };
        out.push(format!(
            "  {:<instr_w$} {:<spark_col$} {:>4.0}% {:>7}",
            ellipsize(&name, instr_w),
            step_runs(&s.runs),
            s.miss_rate * 100.0,
            cost
        ));
    }
}

fn advice(o: &CacheOverview, width: usize, out: &mut Vec<String>) {
    if o.advice.is_empty() {
        return;
    }
    out.push("Advice".to_owned());
    for a in &o.advice {
        let head = format!("[{}] {} ({} lost)", a.rule, a.title, fmt_ms(a.cost_ms));
        for (i, l) in wrap(&head, width.saturating_sub(4)).into_iter().enumerate() {
            out.push(format!("{}{l}", if i == 0 { "  " } else { "    " }));
        }
        for l in wrap(&a.detail, width.saturating_sub(4)) {
            out.push(format!("    {l}"));
        }
        if !a.lines.is_empty() {
            out.push("    instead of:".to_owned());
            for l in &a.replaces {
                out.push(ellipsize(&format!("      {l}"), width));
            }
            out.push("    write:".to_owned());
            for l in &a.lines {
                out.push(ellipsize(&format!("      {l}"), width));
            }
        }
    }
}
