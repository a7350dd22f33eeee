//! Where the load goes and comes from: servers on loopback only, source addresses 127.0.0.x,
//! and the server's own figures read from its `/metrics`.

use anyhow::{Context, bail};
use hehe_client::HttpClient;
use std::net::{IpAddr, Ipv4Addr};

/// Checks that `url` (`http://host:port`) names a loopback server and returns it without a
/// trailing slash. A load test aimed elsewhere would be an attack, so it is refused.
pub fn loopback_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: the server URL must start with http://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("{url}: the load test only targets servers on loopback (127.0.0.0/8, ::1)");
    }
    Ok(url.to_owned())
}

/// Parses source addresses: a comma-separated list of loopback addresses and ranges such as
/// `127.0.0.2-127.0.0.9`. Empty means "let the system choose" (one address, 127.0.0.1).
pub fn source_ips(spec: &str) -> anyhow::Result<Vec<IpAddr>> {
    let mut ips = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let first: Ipv4Addr = first.trim().parse().with_context(|| part.to_string())?;
        let last: Ipv4Addr = last.trim().parse().with_context(|| part.to_string())?;
        if !first.is_loopback() || !last.is_loopback() {
            bail!("{part}: source addresses must be on loopback (127.0.0.0/8)");
        }
        let (a, b) = (u32::from(first), u32::from(last));
        if b < a || b - a > 1024 {
            bail!("{part}: a range goes upwards and holds at most 1024 addresses");
        }
        ips.extend((a..=b).map(|ip| IpAddr::V4(Ipv4Addr::from(ip))));
    }
    Ok(ips)
}

/// The process figures of a server, from its `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServerSample {
    pub cpu_seconds: f64,
    pub resident_bytes: f64,
}

/// Reads and sums the process figures of every server (several nodes: their sum).
/// `None` when a server does not export them.
pub async fn sample(servers: &[HttpClient]) -> Option<ServerSample> {
    let mut total = ServerSample::default();
    for server in servers {
        let (status, text) = server.get_text("/metrics").await.ok()?;
        if status != 200 {
            return None;
        }
        total.cpu_seconds += metric(&text, "hehe_process_cpu_seconds")?;
        total.resident_bytes += metric(&text, "hehe_process_resident_memory_bytes")?;
    }
    Some(total)
}

/// The process figures of the baseline server, from its `GET /cpu` (`server` is its
/// `http://` address).
pub async fn sample_baseline(server: &HttpClient) -> Option<ServerSample> {
    let (status, text) = server.get_text("/cpu").await.ok()?;
    if status != 200 {
        return None;
    }
    Some(ServerSample {
        cpu_seconds: metric(&text, "cpu_seconds")?,
        resident_bytes: metric(&text, "resident_bytes")?,
    })
}

/// Checks that `url` (`ws://host:port` or `http://host:port`) names a loopback server and
/// returns its `ws://` and `http://` forms.
pub fn loopback_ws_url(url: &str) -> anyhow::Result<(String, String)> {
    let http = match url.strip_prefix("ws://") {
        Some(rest) => format!("http://{rest}"),
        None => url.to_owned(),
    };
    let http = loopback_url(&http)?;
    let ws = format!("ws://{}", http.trim_start_matches("http://"));
    Ok((ws, http))
}

/// The value of an unlabelled metric in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        // Not a longer name that starts the same (e.g. `_total` after it).
        let value = rest.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_are_targets() {
        assert_eq!(
            loopback_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(loopback_url("http://127.0.0.7:1").is_ok());
        assert!(loopback_url("http://localhost:8080").is_ok());
        assert!(loopback_url("http://[::1]:8080").is_ok());
        assert!(loopback_url("http://10.0.0.1:8080").is_err());
        assert!(loopback_url("http://example.com").is_err());
        assert!(loopback_url("https://127.0.0.1").is_err());
        let (ws, http) = loopback_ws_url("ws://127.0.0.1:9300/").unwrap();
        assert_eq!(
            (ws.as_str(), http.as_str()),
            ("ws://127.0.0.1:9300", "http://127.0.0.1:9300")
        );
        assert!(loopback_ws_url("ws://10.1.2.3:9300").is_err());
    }

    #[test]
    fn source_addresses_are_lists_and_ranges_on_loopback() {
        let ips = source_ips("127.0.0.2-127.0.0.4, 127.0.0.9").unwrap();
        let text: Vec<String> = ips.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9"]);
        assert!(source_ips("").unwrap().is_empty());
        assert!(source_ips("10.0.0.1").is_err());
        assert!(source_ips("127.0.0.5-127.0.0.2").is_err());
    }

    #[test]
    fn metrics_are_read_by_exact_name() {
        let text = "# HELP x\nhehe_process_cpu_seconds_total 9\nhehe_process_cpu_seconds 1.5\n\
                    hehe_process_resident_memory_bytes 1024\n";
        assert_eq!(metric(text, "hehe_process_cpu_seconds"), Some(1.5));
        assert_eq!(
            metric(text, "hehe_process_resident_memory_bytes"),
            Some(1024.0)
        );
        assert_eq!(metric(text, "hehe_nothing"), None);
    }
}
