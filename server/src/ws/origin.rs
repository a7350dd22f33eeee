//! Which browser pages may open a WebSocket. A browser sends the page's origin with the
//! upgrade and lets any page connect anywhere, so without this check a page elsewhere could
//! act in a resident's name wherever the browser holds their token. Clients that are not
//! browsers (apps, the CLI, servers) send no origin and are not affected.

/// Whether a WebSocket upgrade with this `Origin` may proceed: no origin, this server's own
/// (same scheme-less authority as `Host`), one listed in `allowed`, or anything when `allowed`
/// holds `*`.
pub fn allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim().trim_end_matches('/');
    if allowed
        .iter()
        .map(|a| a.trim().trim_end_matches('/'))
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (authority, host) {
        (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host.trim()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::allowed;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_origin_is_not_a_browser() {
        assert!(allowed(None, Some("hehe.example:8080"), &[]));
        assert!(allowed(None, None, &[]));
    }

    #[test]
    fn the_servers_own_pages_may() {
        let host = Some("127.0.0.1:8080");
        assert!(allowed(Some("http://127.0.0.1:8080"), host, &[]));
        assert!(allowed(Some("https://127.0.0.1:8080/"), host, &[]));
        assert!(allowed(
            Some("http://Hehe.Example"),
            Some("hehe.example"),
            &[]
        ));
        // Another port is another origin.
        assert!(!allowed(Some("http://127.0.0.1:9090"), host, &[]));
        assert!(!allowed(Some("http://evil.example"), host, &[]));
        assert!(!allowed(Some("http://127.0.0.1:8080"), None, &[]));
        // Not a web origin at all.
        assert!(!allowed(Some("null"), host, &[]));
        assert!(!allowed(Some("file://"), host, &[]));
    }

    #[test]
    fn listed_origins_may() {
        let listed = list(&["https://app.hehe.example", "https://servicewechat.com/"]);
        let host = Some("api.hehe.example");
        assert!(allowed(Some("https://app.hehe.example"), host, &listed));
        assert!(allowed(Some("https://servicewechat.com"), host, &listed));
        assert!(!allowed(Some("http://app.hehe.example"), host, &listed));
        assert!(!allowed(Some("https://other.example"), host, &listed));
        assert!(allowed(Some("https://other.example"), host, &list(&["*"])));
    }
}
