//! The cache panel's rows, cell by cell (styles included): the summary at full and compact
//! width, with and without a first miss, its trend and a saved time; a step row.

use ratatui::style::Color;

use super::*;
use crate::cache::StepPoint;

/// `COPY . .` (position 1) missed 3 times in 4 builds; `WORKDIR` (0) never did; `RUN npm ci`
/// (2) ran once, for 90s.
fn summary(saved_ms: u64, missed: bool) -> CacheSummary {
    let point = |cached, ms| {
        Some(StepPoint {
            cached,
            duration_ms: Some(ms),
        })
    };
    CacheSummary {
        target: "api:latest".into(),
        steps: 6,
        cached: if missed { 4 } else { 6 },
        first_miss: missed.then(|| "step 3: COPY . .".into()),
        miss_reason: missed.then(|| "files changed: src/a.js".into()),
        first_miss_at: missed.then_some(1),
        saved_ms,
        ran: if missed {
            vec![StepLine {
                position: 1,
                step: 3,
                instruction: "COPY . .".into(),
                duration_ms: Some(1200),
            }]
        } else {
            Vec::new()
        },
        trends: vec![
            StepTrend {
                position: 0,
                instruction: "WORKDIR /app".into(),
                runs: vec![point(true, 0); 4],
                builds: 4,
                misses: 0,
            },
            StepTrend {
                position: 1,
                instruction: "COPY . .".into(),
                runs: vec![
                    point(false, 400),
                    point(true, 0),
                    point(false, 800),
                    point(false, 1200),
                ],
                builds: 4,
                misses: 3,
            },
            StepTrend {
                position: 2,
                instruction: "RUN npm ci".into(),
                runs: vec![None, point(false, 90_000), point(true, 0), point(true, 0)],
                builds: 3,
                misses: 1,
            },
        ],
    }
}

fn draw(w: impl Widget, width: u16, height: u16) -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, width, height));
    w.render(buf.area, &mut buf);
    buf
}

fn row(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_owned())
        .collect()
}

/// Where `needle` starts on row `y`, in cells.
fn at(buf: &Buffer, y: u16, needle: &str) -> u16 {
    let text = row(buf, y);
    let byte = text
        .find(needle)
        .unwrap_or_else(|| panic!("'{needle}' not on row {y}: {text}"));
    u16::try_from(text[..byte].chars().count()).expect("x")
}

fn fg(buf: &Buffer, x: u16, y: u16) -> Color {
    buf[(x, y)].fg
}

#[test]
fn a_wide_row_has_the_gauge_saved_time_first_miss_and_its_trend() {
    let theme = Theme::default();
    let s = summary(41_000, true);
    let buf = draw(
        CacheGauge {
            report: &s,
            theme: &theme,
        },
        140,
        1,
    );
    let text = row(&buf, 0);
    assert!(text.starts_with(" api:latest "), "{text}");
    assert_eq!(fg(&buf, 1, 0), Color::Cyan, "the image in the accent");
    at(&buf, 0, "4/6 cached");
    assert!(
        text.contains(
            "  saved ~41.0s  first miss: step 3: COPY . . - files changed: src/a.js  ▃·▆█ misses 3/4"
        ),
        "{text}"
    );
    let x = at(&buf, 0, "first miss: ");
    assert_eq!(fg(&buf, x, 0), Color::DarkGray, "the label is dim");
    let x = at(&buf, 0, "step 3:");
    assert_eq!(fg(&buf, x, 0), Color::Yellow, "the missed step is yellow");
    let x = at(&buf, 0, "▃·▆█");
    for dx in 0..4u16 {
        assert_eq!(fg(&buf, x + dx, 0), Color::Yellow, "the sparkline");
    }
    let x = at(&buf, 0, "misses 3/4");
    assert_eq!(fg(&buf, x, 0), Color::DarkGray, "the miss rate is dim");
}

#[test]
fn nothing_saved_says_nothing_about_saving() {
    let theme = Theme::default();
    for (width, height) in [(140, 1), (60, 2)] {
        let s = summary(0, true);
        let buf = draw(
            CacheGauge {
                report: &s,
                theme: &theme,
            },
            width,
            height,
        );
        let all: String = (0..height).map(|y| row(&buf, y)).collect();
        assert!(!all.contains("saved"), "{all}");
        assert!(!all.contains("~0ms"), "{all}");
        at(
            &buf,
            height - 1,
            if height == 1 {
                "first miss: step 3"
            } else {
                "missed step 3"
            },
        );
    }
}

#[test]
fn a_compact_row_puts_the_saved_time_by_the_gauge_and_keeps_the_reason_before_the_trend() {
    let theme = Theme::default();
    let s = summary(41_000, true);
    let buf = draw(
        CacheGauge {
            report: &s,
            theme: &theme,
        },
        52,
        2,
    );
    let first = row(&buf, 0);
    assert!(first.starts_with(" api:latest "), "{first}");
    assert!(first.ends_with("  saved ~41.0s"), "{first}");
    at(&buf, 0, "4/6 cached");
    // 52 columns: the miss and its reason whole; the trend (in `x` and on a tall screen)
    // gives way.
    let second = row(&buf, 1);
    assert_eq!(
        second.trim_end(),
        "  missed step 3: COPY . . - files changed: src/a.js",
        "{second}"
    );
    assert_eq!(fg(&buf, at(&buf, 1, "missed"), 1), Color::DarkGray);
    assert_eq!(fg(&buf, at(&buf, 1, "step 3"), 1), Color::Yellow);
    assert_eq!(fg(&buf, at(&buf, 1, "files changed"), 1), Color::Yellow);
    // Wider, the trend follows.
    let buf = draw(
        CacheGauge {
            report: &s,
            theme: &theme,
        },
        70,
        2,
    );
    assert_eq!(
        row(&buf, 1).trim_end(),
        "  missed step 3: COPY . . - files changed: src/a.js  ▃·▆█ misses 3/4"
    );
    assert_eq!(fg(&buf, at(&buf, 1, "misses"), 1), Color::DarkGray);
}

#[test]
fn a_long_instruction_gives_way_to_the_reason() {
    let theme = Theme::default();
    let mut s = summary(41_000, true);
    s.first_miss = Some("step 5: COPY src/components /app/src/components".into());
    let buf = draw(
        CacheGauge {
            report: &s,
            theme: &theme,
        },
        52,
        2,
    );
    let second = row(&buf, 1);
    assert_eq!(second.chars().count(), 52);
    assert_eq!(
        second.trim_end(),
        "  missed step 5: COPY src… - files changed: src/a.js",
        "{second}"
    );
    assert_eq!(fg(&buf, at(&buf, 1, "…"), 1), Color::Yellow, "the mark too");
}

#[test]
fn a_narrow_row_keeps_the_miss_and_drops_the_trend() {
    let theme = Theme::default();
    let s = summary(0, true);
    let buf = draw(
        CacheGauge {
            report: &s,
            theme: &theme,
        },
        36,
        2,
    );
    let second = row(&buf, 1);
    assert_eq!(second, "  missed step 3: COP… - files chang…", "{second}");
}

#[test]
fn without_a_miss_the_slowest_step_is_followed() {
    let theme = Theme::default();
    let s = summary(74_000, false);
    let buf = draw(
        CacheGauge {
            report: &s,
            theme: &theme,
        },
        140,
        1,
    );
    let text = row(&buf, 0);
    assert!(
        text.contains("  saved ~1m14s  slowest: RUN npm ci   █·· misses 1/3"),
        "{text}"
    );
    let line = at(&buf, 0, "─");
    assert_eq!(fg(&buf, line, 0), Color::Green, "all cached: a green gauge");
    assert_eq!(fg(&buf, at(&buf, 0, "RUN npm ci"), 0), Color::DarkGray);
}

#[test]
fn before_the_history_answers_the_row_has_no_trend() {
    let theme = Theme::default();
    let mut s = summary(41_000, true);
    s.trends.clear();
    let buf = draw(
        CacheGauge {
            report: &s,
            theme: &theme,
        },
        140,
        1,
    );
    let text = row(&buf, 0);
    assert!(
        text.trim_end()
            .ends_with("first miss: step 3: COPY . . - files changed: src/a.js"),
        "{text}"
    );
    // Fully cached and no history: only the gauge and the saved time.
    let mut s = summary(0, false);
    s.trends.clear();
    let buf = draw(
        CacheGauge {
            report: &s,
            theme: &theme,
        },
        140,
        1,
    );
    let text = row(&buf, 0);
    assert!(
        text.trim_end().ends_with('─'),
        "the gauge ends the row: {text}"
    );
    assert!(!text.contains("slowest"), "{text}");
}

#[test]
fn a_step_row_lines_up_its_number_text_duration_sparkline_and_rate() {
    let theme = Theme::default();
    let s = summary(0, true);
    let trend = s.trend(1);
    let draw_step = |width| {
        draw(
            StepRow {
                step: &s.ran[0],
                trend,
                first_miss: true,
                text_w: 20,
                spark_w: 6,
                theme: &theme,
            },
            width,
            1,
        )
    };
    let buf = draw_step(80);
    let text = row(&buf, 0);
    assert_eq!(
        text,
        // The instruction column is `text_w` wide (the longest listed); the row ends blank.
        format!(
            "   step 3   {:<20}    1.2s  ▃·▆█   misses 3/4  {}",
            "COPY . .",
            " ".repeat(19)
        ),
        "{text}"
    );
    assert_eq!(fg(&buf, 3, 0), Color::DarkGray, "the number is dim");
    assert_eq!(
        fg(&buf, at(&buf, 0, "COPY"), 0),
        Color::Yellow,
        "the first miss"
    );
    assert_eq!(fg(&buf, at(&buf, 0, "1.2s"), 0), Color::DarkGray);
    assert_eq!(fg(&buf, at(&buf, 0, "▃·▆█"), 0), Color::Yellow);
    assert_eq!(fg(&buf, at(&buf, 0, "misses"), 0), Color::DarkGray);
    // Narrow: the duration goes before the instruction is cut below a few characters.
    let buf = draw_step(44);
    let text = row(&buf, 0);
    assert!(text.starts_with("   step 3   COPY . .  "), "{text}");
    assert!(!text.contains("1.2s"), "{text}");
    assert_eq!(
        text,
        format!("   step 3   {:<11}  ▃·▆█   misses 3/4  ", "COPY . .")
    );
}
