//! The report as one self-contained HTML page: tables, and charts drawn here as inline SVG, so
//! the page opens anywhere without fetching anything.

use super::Report;
use crate::measure::{PerSecond, Percentiles};
use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const MARGIN: f64 = 48.0;

pub fn render(report: &Report) -> String {
    let mut page = String::new();
    let title = format!("hehe-loadtest: {}", escape(&report.scenario));
    let verdict = if report.ok {
        "<p class=ok>Every invariant held.</p>"
    } else {
        "<p class=fail>Some invariants failed.</p>"
    };
    let _ = write!(
        page,
        "<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:60em}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}\
         th{{text-align:left}}.ok{{color:#070}}.fail{{color:#b00;font-weight:bold}}\
         svg{{background:#fafafa;border:1px solid #ddd}}</style>\
         <h1>{title}</h1>{verdict}"
    );

    page.push_str("<h2>Invariants</h2><table>");
    for i in &report.invariants {
        let class = if i.ok { "ok" } else { "fail" };
        let mark = if i.ok { "ok" } else { "FAILED" };
        let _ = write!(
            page,
            "<tr><th>{}</th><td class={class}>{mark}</td><td>{}</td></tr>",
            escape(&i.name),
            escape(&i.detail)
        );
    }
    page.push_str("</table>");

    let c = &report.connections;
    let d = &report.deliveries;
    let p = &report.publish;
    let rows: Vec<(&str, String)> = vec![
        ("elapsed", format!("{:.1} s", report.elapsed_secs)),
        ("workers", c.workers.to_string()),
        (
            "connections",
            format!("{} of {} ({} failed)", c.connected, c.attempted, c.failed),
        ),
        (
            "published",
            format!("{} sent, {} acknowledged", p.sent, p.acknowledged),
        ),
        (
            "publish rate",
            format!(
                "{:.1}/s asked, {:.1}/s achieved",
                p.rate_asked, p.rate_achieved
            ),
        ),
        ("deliveries expected", d.counts.expected.to_string()),
        ("received", d.counts.received.to_string()),
        ("lost", d.counts.lost.to_string()),
        ("duplicated", d.counts.duplicated.to_string()),
        ("out of order", d.counts.out_of_order.to_string()),
        ("deliveries per second", format!("{:.0}", d.per_second_mean)),
        ("events received (all)", d.events.to_string()),
        (
            "server memory per connection",
            report
                .server
                .memory_per_connection_bytes
                .map_or("n/a".into(), |b| format!("{:.1} KiB", b / 1024.0)),
        ),
        (
            "server CPU",
            report
                .server
                .cpu_seconds
                .map_or("n/a".into(), |s| format!("{s:.2} s")),
        ),
        (
            "deliveries per CPU-second",
            report
                .server
                .deliveries_per_cpu_second
                .map_or("n/a".into(), |v| format!("{v:.0}")),
        ),
        ("reconnects", report.reconnect.reconnects.to_string()),
        (
            "recovered: false",
            report.reconnect.recovered_false.to_string(),
        ),
    ];
    page.push_str("<h2>Figures</h2><table>");
    for (name, value) in rows {
        let _ = write!(page, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
    }
    page.push_str("</table>");

    page.push_str("<h2>Latency</h2>");
    let mut rows = vec![
        ("end to end", &d.latency),
        ("publish acknowledgement", &p.acknowledgement),
        ("connect + auth", &c.connect),
        ("subscribe", &c.subscribe),
    ];
    rows.extend(report.latencies.iter().map(|(what, l)| (what.as_str(), l)));
    page.push_str(&percentile_table(&rows));
    page.push_str(&percentile_bars("End-to-end latency (ms)", &d.latency));

    page.push_str("<h2>Over time</h2>");
    if !d.per_second.is_empty() {
        page.push_str(&timeline("Deliveries per second", &d.per_second));
    }
    if !c.per_second.is_empty() {
        page.push_str(&timeline("Connections per second", &c.per_second));
    }

    if !report.errors.is_empty() || !report.closes.is_empty() {
        page.push_str("<h2>Errors and closes</h2><table>");
        for (kind, n) in &report.errors {
            let _ = write!(page, "<tr><th>{}</th><td>{n}</td></tr>", escape(kind));
        }
        for (code, n) in &report.closes {
            let _ = write!(
                page,
                "<tr><th>closed {}</th><td>{n}</td></tr>",
                escape(code)
            );
        }
        page.push_str("</table>");
    }

    let parameters = serde_json::to_string_pretty(&report.parameters).unwrap_or_default();
    let _ = writeln!(
        page,
        "<h2>Parameters</h2><pre>{}</pre></html>",
        escape(&parameters)
    );
    page
}

fn percentile_table(rows: &[(&str, &Percentiles)]) -> String {
    let mut out = String::from(
        "<table><tr><th></th><th>count</th><th>p50</th><th>p90</th><th>p99</th>\
         <th>p99.9</th><th>max</th><th>mean</th></tr>",
    );
    for (name, p) in rows {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td>\
             <td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            escape(name),
            p.count,
            p.p50_ms,
            p.p90_ms,
            p.p99_ms,
            p.p999_ms,
            p.max_ms,
            p.mean_ms
        );
    }
    out.push_str("</table><p>Milliseconds.</p>");
    out
}

/// Bars for p50 … max.
fn percentile_bars(title: &str, p: &Percentiles) -> String {
    let bars = [
        ("p50", p.p50_ms),
        ("p90", p.p90_ms),
        ("p99", p.p99_ms),
        ("p99.9", p.p999_ms),
        ("max", p.max_ms),
    ];
    let top = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(0.001);
    let slot = (WIDTH - 2.0 * MARGIN) / bars.len() as f64;
    let mut svg = svg_open(title);
    for (i, (label, value)) in bars.iter().enumerate() {
        let h = (HEIGHT - 2.0 * MARGIN) * value / top;
        let x = MARGIN + slot * i as f64 + slot * 0.15;
        let y = HEIGHT - MARGIN - h;
        let _ = write!(
            svg,
            "<rect x='{x:.1}' y='{y:.1}' width='{:.1}' height='{h:.1}' fill='#4a7bb7'/>\
             <text x='{:.1}' y='{:.1}' text-anchor='middle'>{value:.2}</text>\
             <text x='{:.1}' y='{:.1}' text-anchor='middle'>{label}</text>",
            slot * 0.7,
            x + slot * 0.35,
            y - 4.0,
            x + slot * 0.35,
            HEIGHT - MARGIN + 16.0
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// A line of counts per second, from the first second to the last.
fn timeline(title: &str, per_second: &PerSecond) -> String {
    let (Some(first), Some(last)) = (per_second.keys().next(), per_second.keys().last()) else {
        return String::new();
    };
    let span = (last - first).max(1) as f64;
    let top = per_second.values().copied().max().unwrap_or(1).max(1) as f64;
    let (w, h) = (WIDTH - 2.0 * MARGIN, HEIGHT - 2.0 * MARGIN);
    let mut points = String::new();
    for second in *first..=*last {
        let n = per_second.get(&second).copied().unwrap_or(0) as f64;
        let x = MARGIN + w * (second - first) as f64 / span;
        let y = HEIGHT - MARGIN - h * n / top;
        let _ = write!(points, "{x:.1},{y:.1} ");
    }
    let mut svg = svg_open(title);
    let _ = write!(
        svg,
        "<polyline fill='none' stroke='#4a7bb7' stroke-width='2' points='{}'/>\
         <text x='{:.1}' y='{:.1}' text-anchor='end'>{top:.0}</text>\
         <text x='{:.1}' y='{:.1}' text-anchor='end'>0</text>\
         <text x='{:.1}' y='{:.1}' text-anchor='end'>{:.0} s</text>",
        points.trim_end(),
        MARGIN - 4.0,
        MARGIN + 4.0,
        MARGIN - 4.0,
        HEIGHT - MARGIN,
        WIDTH - MARGIN,
        HEIGHT - MARGIN + 16.0,
        span
    );
    svg.push_str("</svg></figure>");
    svg
}

fn svg_open(title: &str) -> String {
    format!(
        "<figure><figcaption>{}</figcaption><svg xmlns='http://www.w3.org/2000/svg' \
         width='{WIDTH}' height='{HEIGHT}' viewBox='0 0 {WIDTH} {HEIGHT}' font-size='11'>\
         <line x1='{MARGIN}' y1='{y}' x2='{x}' y2='{y}' stroke='#999'/>\
         <line x1='{MARGIN}' y1='{MARGIN}' x2='{MARGIN}' y2='{y}' stroke='#999'/>",
        escape(title),
        x = WIDTH - MARGIN,
        y = HEIGHT - MARGIN,
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_stands_alone_and_escapes_text() {
        let mut report = Report {
            scenario: "room <1>".into(),
            ..Report::default()
        };
        report.deliveries.per_second.insert(100, 5);
        report.deliveries.per_second.insert(102, 7);
        report.check("no_loss", true, "0 lost".into());
        let page = render(&report);
        assert!(page.contains("room &lt;1&gt;"));
        assert!(page.contains("<polyline"));
        assert!(page.contains("<svg"));
        // No outside assets: the SVG namespace is the only URL.
        let urls = page.matches("http").count();
        assert_eq!(urls, page.matches("<svg").count(), "{page}");
        assert_eq!(
            page.matches("<figure>").count(),
            page.matches("</figure>").count()
        );
        assert!(!page.contains("<script"));
    }
}
