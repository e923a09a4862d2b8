//! The SVG chart of a one-lever sweep: the score against the lever.

/// A line chart of `points` as a standalone SVG.
pub fn svg_chart(points: &[(f64, f64)], x_label: &str, title: &str) -> String {
    let (w, h, m) = (640.0, 360.0, 50.0);
    let finite = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in finite.clone() {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if (x1 - x0).abs() < f64::EPSILON {
        x1 = x0 + 1.0;
    }
    if (y1 - y0).abs() < f64::EPSILON {
        y1 = y0 + 1.0;
    }
    let sx = |x: f64| m + (x - x0) / (x1 - x0) * (w - 2.0 * m);
    let sy = |y: f64| h - m - (y - y0) / (y1 - y0) * (h - 2.0 * m);
    let path: Vec<String> = finite
        .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
        .collect();
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
<text x=\"{m}\" y=\"24\" font-size=\"14\">{title}</text>\n\
<line x1=\"{m}\" y1=\"{yb}\" x2=\"{xr}\" y2=\"{yb}\" stroke=\"black\"/>\n\
<line x1=\"{m}\" y1=\"{m}\" x2=\"{m}\" y2=\"{yb}\" stroke=\"black\"/>\n\
<text x=\"{m}\" y=\"{xl}\">{x0:.3}</text><text x=\"{xr}\" y=\"{xl}\" text-anchor=\"end\">{x1:.3}</text>\n\
<text x=\"{xm}\" y=\"{xl}\" text-anchor=\"middle\">{label}</text>\n\
<text x=\"{yt}\" y=\"{yb}\" text-anchor=\"end\">{y0:.2}</text><text x=\"{yt}\" y=\"{m}\" text-anchor=\"end\">{y1:.2}</text>\n\
<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\"{points}\"/>\n</svg>\n",
        yb = h - m,
        xr = w - m,
        xl = h - m + 18.0,
        xm = w / 2.0,
        yt = m - 6.0,
        title = escape(title),
        label = escape(x_label),
        points = path.join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_points_into_the_frame() {
        let svg = svg_chart(
            &[(0.0, 10.0), (5.0, 20.0), (10.0, 15.0)],
            "interest_rate_pct",
            "pressure-index",
        );
        assert!(svg.starts_with("<svg"));
        assert!(
            svg.contains("points=\"50.0,310.0 320.0,50.0 590.0,180.0\""),
            "{svg}"
        );
        assert!(svg_chart(&[], "x", "empty").contains("<polyline"));
    }
}
