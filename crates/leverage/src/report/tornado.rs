//! The tornado chart of a model report: one horizontal bar per factor, from the score at the
//! low end of the factor's plausible range to the score at its high end, around a line at the
//! base score, widest first. Hand-written SVG: no script, a `<title>` and a `<desc>` that
//! screen readers announce, and every number written as text beside its bar, so that the chart
//! reads without colour.

use std::fmt::Write as _;

use super::fixed;

/// One bar: a factor and the scores at the two ends of its range.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// What the reader sees, e.g. `weight.speed (parameter)`.
    pub label: String,
    /// The factor's value at the low end and at the high end of its range, as printed.
    pub low_value: String,
    pub high_value: String,
    /// The score at the low end and at the high end.
    pub low_score: f64,
    pub high_score: f64,
}

/// What the chart is of.
#[derive(Clone, Debug)]
pub struct Chart<'a> {
    /// The chart's title, e.g. "pressure_index of pressure-index 1.0.0 around the 2026 policy".
    pub title: &'a str,
    /// One sentence on how the bars were obtained (the `<desc>`).
    pub description: &'a str,
    /// The score's name and unit, under the axis.
    pub axis_label: &'a str,
    pub base_score: f64,
    /// Widest first.
    pub bars: &'a [Bar],
}

const WIDTH: f64 = 880.0;
const LABEL_WIDTH: f64 = 300.0;
const RIGHT_MARGIN: f64 = 70.0;
const TOP: f64 = 84.0;
const ROW: f64 = 24.0;
const BAR: f64 = 14.0;
const LOW_COLOUR: &str = "#1f5fa8";
const HIGH_COLOUR: &str = "#c8661b";

/// The chart as a standalone SVG document. Coordinates are printed with one decimal, so that
/// the same scores give the same bytes on any machine.
pub fn svg(chart: &Chart<'_>) -> String {
    let (lo, hi) = axis_range(chart);
    // Room between the labels and the plot for a score written left of a bar that starts at
    // the axis's low end.
    let plot_left = LABEL_WIDTH + 56.0;
    let plot_right = WIDTH - RIGHT_MARGIN;
    let x = |score: f64| plot_left + (score - lo) / (hi - lo) * (plot_right - plot_left);
    let rows = chart.bars.len().max(1) as f64;
    let axis_y = TOP + rows * ROW + 6.0;
    let height = axis_y + 64.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.1}\" \
         viewBox=\"0 0 {WIDTH} {height:.1}\" role=\"img\" aria-labelledby=\"title desc\" \
         font-family=\"sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<title id=\"title\">{}</title>", escape(chart.title));
    let _ = writeln!(s, "<desc id=\"desc\">{}</desc>", escape(chart.description));
    let _ = writeln!(s, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        escape(chart.title)
    );
    // Legend: the colour of each end, also said in words.
    let _ = writeln!(
        s,
        "<rect x=\"12\" y=\"40\" width=\"12\" height=\"12\" fill=\"{LOW_COLOUR}\"/>\
         <text x=\"30\" y=\"50\">score with the factor at the low end of its range</text>"
    );
    let _ = writeln!(
        s,
        "<rect x=\"380\" y=\"40\" width=\"12\" height=\"12\" fill=\"{HIGH_COLOUR}\"/>\
         <text x=\"398\" y=\"50\">score with the factor at the high end</text>"
    );
    let base_x = x(chart.base_score);
    let _ = writeln!(
        s,
        "<text x=\"{base_x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">base {}</text>",
        TOP - 10.0,
        fixed(chart.base_score)
    );
    if chart.bars.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{plot_left:.1}\" y=\"{:.1}\">no factor moves the score</text>",
            TOP + 16.0
        );
    }
    for (i, bar) in chart.bars.iter().enumerate() {
        let top = TOP + i as f64 * ROW;
        let text_y = top + BAR - 3.0;
        let _ = writeln!(s, "<g>");
        let _ = writeln!(
            s,
            "<text x=\"{LABEL_WIDTH:.1}\" y=\"{text_y:.1}\" text-anchor=\"end\">{}</text>",
            escape(&bar.label)
        );
        for (score, colour, value) in [
            (bar.low_score, LOW_COLOUR, &bar.low_value),
            (bar.high_score, HIGH_COLOUR, &bar.high_value),
        ] {
            let (from, to) = (base_x.min(x(score)), base_x.max(x(score)));
            // A factor that does not move the score at one end still shows a hairline there.
            let width = (to - from).max(1.0);
            let _ = writeln!(
                s,
                "<rect x=\"{from:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{BAR}\" \
                 fill=\"{colour}\" fill-opacity=\"0.85\"><title>{} = {}: score {}</title></rect>",
                escape(&bar.label),
                escape(value),
                fixed(score)
            );
        }
        // The scores at the bar's two ends, written outside it: the lower on the left.
        let (left, right) = if bar.low_score <= bar.high_score {
            (bar.low_score, bar.high_score)
        } else {
            (bar.high_score, bar.low_score)
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{text_y:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text>\
             <text x=\"{:.1}\" y=\"{text_y:.1}\" font-size=\"11\">{}</text>",
            base_x.min(x(left)) - 4.0,
            fixed(left),
            base_x.max(x(right)) + 4.0,
            fixed(right)
        );
        let _ = writeln!(s, "</g>");
    }
    let _ = writeln!(
        s,
        "<line x1=\"{base_x:.1}\" y1=\"{:.1}\" x2=\"{base_x:.1}\" y2=\"{axis_y:.1}\" \
         stroke=\"black\" stroke-dasharray=\"4 3\"/>",
        TOP - 6.0
    );
    let _ = writeln!(
        s,
        "<line x1=\"{plot_left:.1}\" y1=\"{axis_y:.1}\" x2=\"{plot_right:.1}\" \
         y2=\"{axis_y:.1}\" stroke=\"black\"/>"
    );
    for tick in ticks(lo, hi) {
        let tx = x(tick);
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{axis_y:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" \
             stroke=\"black\"/><text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            axis_y + 5.0,
            axis_y + 18.0,
            trimmed(tick)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        (plot_left + plot_right) / 2.0,
        axis_y + 40.0,
        escape(chart.axis_label)
    );
    s.push_str("</svg>\n");
    s
}

/// The scores the axis spans: every bar end and the base, widened to round ticks.
fn axis_range(chart: &Chart<'_>) -> (f64, f64) {
    let scores = chart
        .bars
        .iter()
        .flat_map(|b| [b.low_score, b.high_score])
        .chain([chart.base_score])
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for v in scores {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        return (lo - 1.0, hi + 1.0);
    }
    let step = tick_step(lo, hi);
    ((lo / step).floor() * step, (hi / step).ceil() * step)
}

/// A round step (1, 2 or 5 times a power of ten) giving four to ten ticks over [lo, hi].
fn tick_step(lo: f64, hi: f64) -> f64 {
    let rough = (hi - lo) / 5.0;
    let mut power = 1.0;
    while power > rough {
        power /= 10.0;
    }
    while power * 10.0 <= rough {
        power *= 10.0;
    }
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| (hi - lo) / step <= 10.0)
        .unwrap_or(power * 10.0)
}

/// Tick values from `lo` to `hi` (both round multiples of the step).
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let step = tick_step(lo, hi);
    let first = (lo / step).round() as i64;
    let last = (hi / step).round() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick value without the noise of its binary form (`0.30000000000000004` is `0.3`).
fn trimmed(v: f64) -> String {
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Text for XML content and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, low: f64, high: f64) -> Bar {
        Bar {
            label: label.into(),
            low_value: "0".into(),
            high_value: "1".into(),
            low_score: low,
            high_score: high,
        }
    }

    #[test]
    fn every_bar_is_labelled_and_the_chart_has_no_script() {
        let bars = [bar("a & b", 20.0, 40.0), bar("c", 35.0, 25.0)];
        let chart = Chart {
            title: "t",
            description: "d",
            axis_label: "score <points>",
            base_score: 30.0,
            bars: &bars,
        };
        let svg = svg(&chart);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("<title id=\"title\">t</title>"));
        assert!(svg.contains("aria-labelledby=\"title desc\""));
        assert!(svg.contains(">a &amp; b</text>") && svg.contains("score &lt;points&gt;"));
        assert!(!svg.contains("<script"));
        // Each end's score is written beside the bar: 20.00 and 40.00, 25.00 and 35.00.
        for v in ["20.00", "40.00", "25.00", "35.00", "base 30.00"] {
            assert!(svg.contains(&format!(">{v}<")), "{v} missing: {svg}");
        }
    }

    #[test]
    fn the_axis_spans_every_score_with_round_ticks() {
        assert_eq!(tick_step(18.3, 61.7), 5.0);
        assert_eq!(tick_step(0.0, 0.9), 0.1);
        assert_eq!(
            ticks(20.0, 50.0),
            [20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0]
        );
        let bars = [bar("x", 18.3, 61.7)];
        let chart = Chart {
            title: "t",
            description: "d",
            axis_label: "a",
            base_score: 30.0,
            bars: &bars,
        };
        assert_eq!(axis_range(&chart), (15.0, 65.0));
        assert_eq!(trimmed(0.30000000000000004), "0.3");
    }
}
