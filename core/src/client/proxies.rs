//! Which proxy a request goes through: an explicit one, or the environment's as curl reads
//! it. One table of rules for both transports; each applies it per request.
//!
//! From the environment (with [`ClientBuilder::from_env`](super::ClientBuilder::from_env),
//! unless [`no_proxy`](super::ClientBuilder::no_proxy)):
//!
//! - `https://` URLs go through `HTTPS_PROXY` (or `https_proxy`), `http://` URLs through
//!   `HTTP_PROXY` (or `http_proxy`); either falls back to `ALL_PROXY` (or `all_proxy`). The
//!   lower-case name wins when both are set, as in curl.
//! - `NO_PROXY` (or `no_proxy`) lists hosts that go direct, separated by commas: `*` (every
//!   host), a domain (`example.com` or `.example.com`: it and its subdomains), a host with a
//!   port (`localhost:8080`), an IP address, or a CIDR block (`10.0.0.0/8`, `fd00::/8`).
//! - A proxy URL is `http://[user:password@]host:port` (a scheme-less `host:port` means
//!   `http://`). Its password is never shown: not in `Debug`, errors or logs.

use std::fmt;

use core::net::IpAddr;

/// The proxy rules of a client (see the [module docs](self)).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyRules {
    /// For `http://` URLs.
    http: Option<String>,
    /// For `https://` URLs.
    https: Option<String>,
    /// Hosts that go direct.
    no_proxy: Vec<String>,
}

impl fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URLs may hold passwords.
        let set = |url: &Option<String>| url.as_ref().map(|_| "[set]");
        f.debug_struct("ProxyRules")
            .field("http", &set(&self.http))
            .field("https", &set(&self.https))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxyRules {
    /// Every request through `url`.
    pub fn all(url: impl Into<String>) -> ProxyRules {
        let url = with_scheme(url.into());
        ProxyRules {
            http: Some(url.clone()),
            https: Some(url),
            no_proxy: Vec::new(),
        }
    }

    /// The environment's rules, read through `lookup` (`std::env::var` in a transport).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> ProxyRules {
        let read = |names: [&str; 2]| {
            names
                .into_iter()
                .filter_map(&lookup)
                .map(|value| value.trim().to_owned())
                .find(|value| !value.is_empty())
        };
        let all = read(["all_proxy", "ALL_PROXY"]);
        let https = read(["https_proxy", "HTTPS_PROXY"]).or_else(|| all.clone());
        let http = read(["http_proxy", "HTTP_PROXY"]).or(all);
        let no_proxy = read(["no_proxy", "NO_PROXY"])
            .map(|list| {
                list.split(',')
                    .map(|entry| entry.trim().to_ascii_lowercase())
                    .filter(|entry| !entry.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        ProxyRules {
            http: http.map(with_scheme),
            https: https.map(with_scheme),
            no_proxy,
        }
    }

    /// Every proxy URL the rules name (to check them when a client is built).
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.http.iter().chain(&self.https).map(String::as_str)
    }

    /// Whether no request goes through a proxy.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy for a request to `uri`, if it goes through one.
    pub fn proxy_for(&self, uri: &http::Uri) -> Option<&str> {
        let proxy = match uri.scheme_str() {
            Some("https") => self.https.as_deref(),
            Some("http") => self.http.as_deref(),
            _ => None,
        }?;
        let host = uri.host()?;
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            _ => Some(80),
        });
        (!self.bypasses(host, port)).then_some(proxy)
    }

    /// Whether `NO_PROXY` sends `host` (at `port`) direct.
    fn bypasses(&self, host: &str, port: Option<u16>) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let address: Option<IpAddr> = host.parse().ok();
        self.no_proxy.iter().any(|entry| {
            if entry == "*" {
                return true;
            }
            // A CIDR block, or an address.
            if let Some((network, bits)) = entry.split_once('/') {
                return match (address, network.parse::<IpAddr>(), bits.parse::<u32>()) {
                    (Some(address), Ok(network), Ok(bits)) => in_block(address, network, bits),
                    _ => false,
                };
            }
            let bare = entry.trim_start_matches('[');
            if let Ok(entry_address) = bare.trim_end_matches(']').parse::<IpAddr>() {
                return address == Some(entry_address);
            }
            // `host:port`, or a domain.
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                    (name, port.parse::<u16>().ok())
                }
                _ => (entry.as_str(), None),
            };
            if entry_port.is_some() && entry_port != port {
                return false;
            }
            let domain = name.trim_start_matches('.');
            !domain.is_empty()
                && (host == domain
                    || host
                        .strip_suffix(domain)
                        .is_some_and(|head| head.ends_with('.')))
        })
    }
}

/// `host:port` means `http://host:port`, as in curl.
fn with_scheme(url: String) -> String {
    if url.contains("://") {
        url
    } else {
        format!("http://{url}")
    }
}

/// Whether `address` is in `network/bits`.
fn in_block(address: IpAddr, network: IpAddr, bits: u32) -> bool {
    match (address, network) {
        (IpAddr::V4(address), IpAddr::V4(network)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(address) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(address), IpAddr::V6(network)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(address) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(vars: &[(&str, &str)]) -> ProxyRules {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        ProxyRules::from_lookup(|name| {
            vars.iter()
                .find(|(var, _)| var == name)
                .map(|(_, value)| value.clone())
        })
    }

    fn via(rules: &ProxyRules, url: &str) -> Option<String> {
        rules.proxy_for(&url.parse().unwrap()).map(str::to_owned)
    }

    #[test]
    fn each_scheme_has_its_variable_and_all_proxy_fills_in() {
        let both = rules(&[
            ("HTTPS_PROXY", "http://secure:3128"),
            ("http_proxy", "plain:8080"),
        ]);
        assert_eq!(
            via(&both, "https://api.openai.com/v1").as_deref(),
            Some("http://secure:3128")
        );
        assert_eq!(
            via(&both, "http://localhost:11434").as_deref(),
            Some("http://plain:8080")
        );
        let all = rules(&[("ALL_PROXY", "http://everything:1")]);
        assert_eq!(
            via(&all, "http://a/").as_deref(),
            Some("http://everything:1")
        );
        assert_eq!(
            via(&all, "https://a/").as_deref(),
            Some("http://everything:1")
        );
        let lower_wins = rules(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:1"),
        ]);
        assert_eq!(
            via(&lower_wins, "https://a/").as_deref(),
            Some("http://lower:1")
        );
        assert!(rules(&[]).is_empty());
        assert_eq!(via(&rules(&[]), "https://a/"), None);
    }

    #[test]
    fn no_proxy_matches_hosts_domains_ports_addresses_and_blocks() {
        let r = rules(&[
            ("ALL_PROXY", "http://p:1"),
            (
                "NO_PROXY",
                "internal.example, .corp.test,localhost:8080, 10.0.0.0/8, 192.168.1.7, ::1, fd00::/8",
            ),
        ]);
        for direct in [
            "http://internal.example/",
            "https://api.internal.example/",
            "https://corp.test/",
            "https://deep.x.corp.test/",
            "http://localhost:8080/",
            "http://10.1.2.3/",
            "http://192.168.1.7:9000/",
            "http://[::1]:8080/",
            "http://[fd12::1]/",
        ] {
            assert_eq!(via(&r, direct), None, "{direct}");
        }
        for proxied in [
            "http://notinternal.example/",
            "http://localhost:9090/",
            "http://11.0.0.1/",
            "http://192.168.1.8/",
            "https://api.openai.com/",
        ] {
            assert!(via(&r, proxied).is_some(), "{proxied}");
        }
        let star = rules(&[("ALL_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(via(&star, "https://anything/"), None);
    }

    #[test]
    fn passwords_stay_out_of_debug() {
        let r = ProxyRules::all("http://user:hunter2@proxy:3128");
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}
