//! The charts: wall time, CPU per fetch and peak memory growth against the fetch count, one line
//! per client in the same colour in every chart, drawn as SVG with plotters (no system fonts or C
//! libraries). The x axis is logarithmic; the y axis too for wall time and memory, which span
//! decades. A dashed line marks the server's delay (no client can finish sooner) or the floor of
//! a log axis; the machine, the load and the command go under each chart.
//!
//! matplotlib's `loglog` is the Python counterpart. The legend has a column of its own so that
//! it never hides a line. Left out: error bars (a median of three runs has no spread worth
//! drawing).

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use taketurns::workload::Client;

use crate::Context;
use crate::plan::Plan;
use crate::points::Point;

/// A client's colour, the same in every chart.
fn colour(client: Client) -> RGBColor {
    match client {
        Client::Sequential => RGBColor(120, 120, 120),
        Client::ThreadPerTask => RGBColor(214, 39, 40),
        Client::ThreadPool(_) => RGBColor(255, 127, 14),
        Client::EventLoop => RGBColor(31, 119, 180),
        #[cfg(feature = "uring")]
        Client::Uring => RGBColor(44, 160, 44),
    }
}

/// What differs between the three charts.
struct ChartSpec {
    /// The title at the top.
    title: String,
    /// The y axis's description, with its unit.
    y_desc: &'static str,
    /// The figure plotted for a point.
    y: fn(&Point) -> f64,
    /// Values below this are drawn at it (a log axis has no zero); a reference line marks it.
    y_floor: Option<f64>,
    /// A dashed horizontal reference line and its legend entry.
    reference: Option<(f64, String)>,
    /// The y axis's tick labels.
    y_label: fn(&f64) -> String,
    /// A logarithmic y axis (for figures that span decades), or a linear one from zero.
    log_y: bool,
}

/// The three charts, as SVG text, in the order of [`crate::CHARTS`].
pub fn draw_charts(
    plan: &Plan,
    context: &Context,
    points: &[Point],
) -> Result<Vec<String>, String> {
    let specs = [
        ChartSpec {
            title: format!(
                "Wall time to make N fetches ({} ms server delay each)",
                plan.delay_ms
            ),
            y_desc: "wall time, seconds (log scale)",
            y: Point::wall_s,
            y_floor: None,
            reference: (plan.delay_ms > 0).then(|| {
                (
                    plan.delay_ms as f64 / 1e3,
                    format!("server delay ({} ms)", plan.delay_ms),
                )
            }),
            y_label: |v| trim_number(*v),
            log_y: true,
        },
        ChartSpec {
            title: "CPU time per fetch (user + system, client process)".to_string(),
            y_desc: "CPU per fetch, µs",
            y: Point::cpu_per_fetch_us,
            y_floor: None,
            reference: None,
            y_label: |v| trim_number(*v),
            log_y: false,
        },
        ChartSpec {
            title: "Peak memory growth during the run (ru_maxrss)".to_string(),
            y_desc: "peak RSS growth, MiB (log scale)",
            y: |p| p.rss_growth_kib() / 1024.0,
            y_floor: Some(4.0 / 1024.0),
            reference: Some((4.0 / 1024.0, "no growth, drawn at 4 KiB".to_string())),
            y_label: |v| trim_number(*v),
            log_y: true,
        },
    ];
    specs
        .iter()
        .map(|spec| draw_chart(spec, plan, context, points).map_err(|e| format!("drawing: {e}")))
        .collect()
}

/// `0.05`, `1`, `300`, `10000`: enough digits to tell log ticks apart, no trailing zeros.
fn trim_number(v: f64) -> String {
    let text = if v.abs() < 1e-9 {
        "0".to_string()
    } else if v >= 1.0 {
        format!("{v:.0}")
    } else {
        let decimals = (-v.log10()).ceil().max(1.0) as usize + 1;
        format!("{v:.decimals$}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// One chart: the lines, the reference line, the legend and the caption.
fn draw_chart(
    spec: &ChartSpec,
    plan: &Plan,
    context: &Context,
    points: &[Point],
) -> Result<String, Box<dyn std::error::Error>> {
    // One line per client: its points that have a finite value, in count order.
    let floor = spec.y_floor.unwrap_or(0.0);
    let lines: Vec<(Client, Vec<(f64, f64)>)> = plan
        .clients
        .iter()
        .map(|&client| {
            let line = points
                .iter()
                .filter(|p| p.client == client && !p.reports.is_empty())
                .map(|p| (p.count as f64, (spec.y)(p).max(floor)))
                .filter(|&(_, y)| y.is_finite() && y > 0.0)
                .collect();
            (client, line)
        })
        .collect();
    let ys = lines
        .iter()
        .flat_map(|(_, line)| line.iter().map(|&(_, y)| y))
        .chain(spec.reference.iter().map(|(y, _)| *y));
    let (y_min, y_max) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let (y_min, y_max) = if y_min.is_finite() && y_max > 0.0 {
        (y_min, y_max)
    } else {
        (0.1, 10.0)
    };
    let x_min = *plan.counts.first().unwrap_or(&10) as f64 / 1.5;
    let x_max = *plan.counts.last().unwrap_or(&10_000) as f64 * 1.5;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 640)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = root.titled(&spec.title, ("sans-serif", 24))?;
        let (top, bottom) = body.split_vertically(530);
        // The legend gets a column of its own, so that it never hides a line.
        let (plot, side) = top.split_horizontally(750);
        let x_range = (x_min, x_max);
        if spec.log_y {
            let y_range = (y_min / 2.0..y_max * 3.0).log_scale();
            plot_lines(&plot, &side, x_range, y_range, spec, plan, &lines)?;
        } else {
            plot_lines(&plot, &side, x_range, 0.0..y_max * 1.15, spec, plan, &lines)?;
        }

        // The caption: what was measured, on which machine, by which command.
        let small = ("sans-serif", 13).into_font().color(&BLACK.mix(0.75));
        let caption = [
            format!("{}; {}", plan.describe(), context.date),
            format!(
                "{}; load average {} at the start",
                context.machine, context.load_before
            ),
            context.command.clone(),
        ];
        for (i, line) in caption.iter().enumerate() {
            bottom.draw_text(line, &small, (16, 6 + 19 * i as i32))?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// The axes, the mesh, one line per client and the legend beside them. Generic over the y axis,
/// which is logarithmic or linear.
fn plot_lines<Y>(
    plot: &DrawingArea<SVGBackend<'_>, Shift>,
    side: &DrawingArea<SVGBackend<'_>, Shift>,
    (x_min, x_max): (f64, f64),
    y_range: Y,
    spec: &ChartSpec,
    plan: &Plan,
    lines: &[(Client, Vec<(f64, f64)>)],
) -> Result<(), Box<dyn std::error::Error>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(plot)
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min..x_max).log_scale(), y_range)?;
    chart
        .configure_mesh()
        .x_desc("fetches per run (log scale)")
        .y_desc(spec.y_desc)
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .x_label_formatter(&|x| trim_number(*x))
        .y_label_formatter(&spec.y_label)
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;

    let label_font = ("sans-serif", 15).into_font().color(&BLACK);
    let mut legend_y = 40;
    for (client, line) in lines {
        if line.is_empty() {
            continue;
        }
        let colour = colour(*client);
        chart.draw_series(LineSeries::new(
            line.iter().copied(),
            colour.stroke_width(2),
        ))?;
        chart.draw_series(
            line.iter()
                .map(|&(x, y)| Circle::new((x, y), 4, colour.filled())),
        )?;
        let label = if *client == Client::Sequential {
            format!("{} (≤ {} fetches)", client.name(), plan.sequential_max)
        } else {
            client.name()
        };
        side.draw(&PathElement::new(
            [(8, legend_y), (38, legend_y)],
            colour.stroke_width(2),
        ))?;
        side.draw(&Circle::new((23, legend_y), 4, colour.filled()))?;
        side.draw_text(&label, &label_font, (46, legend_y - 8))?;
        legend_y += 26;
    }
    if let Some((y, label)) = &spec.reference {
        let style = BLACK.mix(0.5).stroke_width(1);
        chart.draw_series(DashedLineSeries::new(
            [(x_min, *y), (x_max, *y)],
            6,
            4,
            style,
        ))?;
        for dash in [8, 20, 32] {
            side.draw(&PathElement::new(
                [(dash, legend_y), (dash + 6, legend_y)],
                style,
            ))?;
        }
        side.draw_text(label, &label_font, (46, legend_y - 8))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels() {
        assert_eq!(trim_number(10000.0), "10000");
        assert_eq!(trim_number(0.05), "0.05");
        assert_eq!(trim_number(0.1), "0.1");
        assert_eq!(trim_number(0.001), "0.001");
        assert_eq!(trim_number(0.0), "0");
        assert_eq!(trim_number(250.0), "250");
    }
}
