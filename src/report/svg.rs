//! The report's plots, as hand-written SVG: per op, a histogram of the value elements
//! by `log10(|rust - torch| / (atol + rtol |torch|))`, one bar colour per dtype, on a
//! logarithmic count axis; the tolerance edge (0) is marked.

use std::fmt::Write as _;

use crate::case::{DType, Op};

use super::stats::{Histogram, HISTOGRAM_BINS, HISTOGRAM_LOW, HISTOGRAM_WIDTH};

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 330.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 80.0;

fn colour(dtype: DType) -> &'static str {
    match dtype {
        DType::Float32 => "#1f77b4",
        _ => "#ff7f0e",
    }
}

/// The columns of the plot: exact, below, the bins, above, non-finite.
fn columns(h: &Histogram) -> Vec<u64> {
    let mut c = vec![h.exact, h.below];
    c.extend_from_slice(&h.bins);
    c.push(h.above);
    c.push(h.nonfinite);
    c
}

/// Horizontal slot of column `i`: a gap of one slot sets "exact" and "non-finite"
/// apart from the log scale.
fn slot_of(i: usize) -> f64 {
    if i == 0 {
        0.0
    } else if i <= HISTOGRAM_BINS + 2 {
        i as f64 + 1.0
    } else {
        i as f64 + 2.0
    }
}

/// Number of slots across the plot.
const SLOTS: usize = HISTOGRAM_BINS + 6;

/// The histogram plot of one op, from its per-dtype histograms.
pub fn histogram_svg(op: Op, series: &[(DType, &Histogram)]) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let col_w = plot_w / SLOTS as f64;
    let max = series
        .iter()
        .flat_map(|(_, h)| columns(h))
        .max()
        .unwrap_or(0)
        .max(1);
    let decades = ((max as f64 + 1.0).log10().ceil()).max(1.0);
    let y = |count: u64| TOP + plot_h * (1.0 - (count as f64 + 1.0).log10() / decades);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="18" font-size="14" text-anchor="middle">{}: value elements by log10(|rust - torch| / (atol + rtol |torch|))</text>"#,
        WIDTH / 2.0,
        op.name()
    );
    // Count axis: one gridline per decade.
    for d in 0..=decades as u32 {
        let count = 10u64.pow(d);
        let yy = TOP + plot_h * (1.0 - (count as f64).log10() / decades);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 4.0,
            yy + 4.0,
            if d == 0 {
                "0".to_string()
            } else {
                format!("1e{d}")
            }
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">elements + 1 (log scale)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    // Bars, one slot per dtype inside each column.
    let slot = col_w * 0.8 / series.len().max(1) as f64;
    for (k, (dtype, h)) in series.iter().enumerate() {
        for (i, &count) in columns(h).iter().enumerate() {
            if count == 0 {
                continue;
            }
            let x = LEFT + slot_of(i) * col_w + col_w * 0.1 + k as f64 * slot;
            let top = y(count);
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{top:.1}" width="{slot:.1}" height="{:.1}" fill="{}"><title>{} {}: {count}</title></rect>"#,
                TOP + plot_h - top,
                colour(*dtype),
                dtype.name(),
                column_label(i)
            );
        }
    }
    // Axis labels: exact, each whole decade, non-finite; the tolerance edge.
    let base = TOP + plot_h;
    let _ = writeln!(
        s,
        r##"<line x1="{LEFT}" x2="{}" y1="{base}" y2="{base}" stroke="#333"/>"##,
        WIDTH - RIGHT
    );
    let label = |s: &mut String, slot: f64, row: f64, text: &str| {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{text}</text>"#,
            LEFT + slot * col_w,
            base + 14.0 + 14.0 * row
        );
    };
    let per_decade = (1.0 / HISTOGRAM_WIDTH) as usize;
    for b in (0..=HISTOGRAM_BINS).step_by(per_decade * 2) {
        let decade = HISTOGRAM_LOW + b as f64 * HISTOGRAM_WIDTH;
        label(&mut s, slot_of(2) + b as f64, 0.0, &format!("{decade}"));
    }
    label(&mut s, slot_of(0) + 0.5, 1.0, "exact");
    label(&mut s, slot_of(1) + 0.5, 1.0, "less");
    label(&mut s, slot_of(HISTOGRAM_BINS + 2) + 0.5, 1.0, "more");
    label(&mut s, slot_of(HISTOGRAM_BINS + 3) + 0.5, 1.0, "NaN");
    let zero = LEFT + (slot_of(2) + -HISTOGRAM_LOW / HISTOGRAM_WIDTH) * col_w;
    let _ = writeln!(
        s,
        r##"<line x1="{zero:.1}" x2="{zero:.1}" y1="{TOP}" y2="{base}" stroke="#c00" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" fill="#c00">tolerance</text>"##,
        zero + 4.0,
        TOP + 12.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">log10 of the difference over the allowed difference (0 = at the tolerance; right of it diverges)</text>"#,
        LEFT + plot_w / 2.0,
        base + 46.0
    );
    // Legend.
    for (k, (dtype, h)) in series.iter().enumerate() {
        let x = LEFT + 10.0 + k as f64 * 180.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{} ({} elements)</text>"#,
            HEIGHT - 16.0,
            colour(*dtype),
            x + 14.0,
            HEIGHT - 7.0,
            dtype.name(),
            h.total()
        );
    }
    s.push_str("</svg>\n");
    s
}

fn column_label(i: usize) -> String {
    match i {
        0 => "exact".into(),
        1 => format!("below 1e{HISTOGRAM_LOW}"),
        i if i == HISTOGRAM_BINS + 2 => "above".into(),
        i if i == HISTOGRAM_BINS + 3 => "non-finite mismatch".into(),
        i => {
            let lo = HISTOGRAM_LOW + (i - 2) as f64 * HISTOGRAM_WIDTH;
            format!("[{lo}, {})", lo + HISTOGRAM_WIDTH)
        }
    }
}
