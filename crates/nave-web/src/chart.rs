//! Charts for the report pages, drawn on the server as SVG: no script, no
//! library, no network. This module does the arithmetic (scales, ticks,
//! bar and point positions); the `parts/chart.html` template writes the
//! SVG, so every label is escaped like any other page text.
//!
//! Values are integers at a fixed number of decimals (money in minor units,
//! percents and days at tenths), so nothing here is a float until it becomes
//! a pixel position.

use rust_decimal::Decimal;

/// Bars side by side per label, or one line per series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Bar,
    Line,
}

/// One series: a value per label.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<i64>,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct Chart {
    pub kind: ChartKind,
    pub title: String,
    /// What the x axis shows (e.g. "Year").
    pub x_label: String,
    /// What the y axis shows, with its unit (e.g. "Net sales (EUR)").
    pub y_label: String,
    /// Digits after the decimal point of the values (EUR 2, percent 1).
    pub decimals: u32,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

/// A rectangle of a bar, with its value as text (the tooltip).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    /// The series' colour.
    pub color: String,
    pub title: String,
}

/// A tick of an axis: where, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub pos: String,
    pub text: String,
}

/// One drawn line with its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub points: String,
    /// The series' colour.
    pub color: String,
    pub dots: Vec<(String, String, String)>,
}

/// A legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendItem {
    pub x: String,
    /// The series' colour.
    pub color: String,
    pub name: String,
}

/// The chart laid out, ready for the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Svg {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
    /// y of the zero line.
    pub zero: String,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub bars: Vec<Bar>,
    pub lines: Vec<Line>,
    pub legend: Vec<LegendItem>,
    pub empty: bool,
}

/// Series colours (SVG presentation attributes: no inline style, which the CSP forbids).
const COLORS: [&str; 6] = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#c53030", "#718096"];

const WIDTH: u32 = 760;
const HEIGHT: u32 = 320;
const LEFT: u32 = 90;
const RIGHT: u32 = 20;
const TOP: u32 = 30;
const BOTTOM: u32 = 80;

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// A value at `decimals` as text (`12345`, 2 → `123.45`).
pub fn value_text(v: i64, decimals: u32) -> String {
    Decimal::new(v, decimals).to_string()
}

/// A "nice" step (1, 2 or 5 × 10ⁿ) so that about five steps cover `span`.
fn nice_step(span: i64) -> i64 {
    let raw = (span.max(1) + 4) / 5;
    let mut p: i64 = 1;
    while p.saturating_mul(10) <= raw {
        p *= 10;
    }
    for m in [1, 2, 5, 10] {
        if p.saturating_mul(m) >= raw {
            return p.saturating_mul(m);
        }
    }
    p.saturating_mul(10)
}

/// Shortens a label to `n` characters.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

impl Chart {
    /// Lays the chart out.
    pub fn layout(&self) -> Svg {
        let values = self.series.iter().flat_map(|s| s.values.iter().copied());
        let max = values.clone().max().unwrap_or(0).max(0);
        let min = values.min().unwrap_or(0).min(0);
        let step = nice_step(max - min);
        let top = (max + step - 1).div_euclid(step) * step;
        let bottom = min.div_euclid(step) * step;
        let top = if top == bottom { bottom + step } else { top };
        let plot_w = f64::from(WIDTH - LEFT - RIGHT);
        let plot_h = f64::from(HEIGHT - TOP - BOTTOM);
        let y = |v: i64| f64::from(TOP) + plot_h * ((top - v) as f64) / ((top - bottom) as f64);
        let mut y_ticks = Vec::new();
        let mut t = bottom;
        while t <= top {
            y_ticks.push(Tick { pos: px(y(t)), text: value_text(t, self.decimals) });
            t += step;
        }
        let n = self.labels.len().max(1);
        let slot = plot_w / n as f64;
        let x_ticks = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| Tick { pos: px(f64::from(LEFT) + slot * (i as f64 + 0.5)), text: short(l, 18) })
            .collect();
        let mut bars = Vec::new();
        let mut lines = Vec::new();
        let k = self.series.len().max(1);
        match self.kind {
            ChartKind::Bar => {
                let w = slot * 0.8 / k as f64;
                for (si, s) in self.series.iter().enumerate() {
                    for (i, v) in s.values.iter().enumerate() {
                        let x = f64::from(LEFT) + slot * i as f64 + slot * 0.1 + w * si as f64;
                        let (y0, y1) = (y(*v).min(y(0)), y(*v).max(y(0)));
                        bars.push(Bar {
                            x: px(x),
                            y: px(y0),
                            w: px(w.max(1.0)),
                            h: px((y1 - y0).max(0.5)),
                            color: COLORS[si % COLORS.len()].to_string(),
                            title: format!(
                                "{}: {} {}",
                                self.labels.get(i).cloned().unwrap_or_default(),
                                s.name,
                                value_text(*v, self.decimals)
                            ),
                        });
                    }
                }
            }
            ChartKind::Line => {
                for (si, s) in self.series.iter().enumerate() {
                    let pts: Vec<(f64, f64, i64)> = s
                        .values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (f64::from(LEFT) + slot * (i as f64 + 0.5), y(*v), *v))
                        .collect();
                    lines.push(Line {
                        points: pts
                            .iter()
                            .map(|(x, y, _)| format!("{},{}", px(*x), px(*y)))
                            .collect::<Vec<_>>()
                            .join(" "),
                        color: COLORS[si % COLORS.len()].to_string(),
                        dots: pts
                            .iter()
                            .enumerate()
                            .map(|(i, (x, y, v))| {
                                (
                                    px(*x),
                                    px(*y),
                                    format!(
                                        "{}: {} {}",
                                        self.labels.get(i).cloned().unwrap_or_default(),
                                        s.name,
                                        value_text(*v, self.decimals)
                                    ),
                                )
                            })
                            .collect(),
                    });
                }
            }
        }
        let legend = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| LegendItem {
                x: (LEFT + 160 * i as u32).to_string(),
                color: COLORS[i % COLORS.len()].to_string(),
                name: short(&s.name, 22),
            })
            .collect();
        Svg {
            title: self.title.clone(),
            x_label: self.x_label.clone(),
            y_label: self.y_label.clone(),
            width: WIDTH,
            height: HEIGHT,
            left: LEFT,
            right: WIDTH - RIGHT,
            top: TOP,
            bottom: HEIGHT - BOTTOM,
            zero: px(y(0)),
            y_ticks,
            x_ticks,
            bars,
            lines,
            legend,
            empty: self.labels.is_empty() || self.series.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(100), 20);
        assert_eq!(nice_step(4_000), 1_000);
        assert_eq!(nice_step(23), 5);
        assert_eq!(nice_step(0), 1);
    }

    #[test]
    fn a_bar_chart_has_a_bar_per_value_and_ticks_in_the_unit() {
        let c = Chart {
            kind: ChartKind::Bar,
            title: "t".into(),
            x_label: "Year".into(),
            y_label: "Net (EUR)".into(),
            decimals: 2,
            labels: vec!["2025".into(), "2026".into()],
            series: vec![Series { name: "Acme".into(), values: vec![10_000, -2_500] }],
        };
        let s = c.layout();
        assert_eq!(s.bars.len(), 2);
        assert!(s.y_ticks.iter().any(|t| t.text == "0.00"), "{:?}", s.y_ticks);
        assert!(s.y_ticks.iter().any(|t| t.text == "100.00"), "{:?}", s.y_ticks);
        assert_eq!(s.bars[1].title, "2026: Acme -25.00");
        assert!(!s.empty);
    }
}
